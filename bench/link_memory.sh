#!/usr/bin/env bash
# What a held agent link costs opsctld, one gRPC per-connection setting at a
# time, in one run (as root: the descriptor limit; installs hyperfine).
# opsctld is built once per candidate (controller/server/link_channel_args.cc
# with --per_file_copt, in an output tree of its own: the usual bazel-bin is
# left alone): "before" is the listener as it was before issue 25 (4 KiB TLS
# frames alone), each candidate is "before" plus that one setting, and
# "shipped" is the file as it is. One swarm of N simulated agents
# (bench/agent_swarm, default 1,000) stays up; each build in turn is started
# on an empty SQLite team log, VmRSS is read once all N are linked (and 3 s
# more), then `opsctl info role:swarm --concurrency N` runs BENCH_RUNS times
# (hyperfine) and it is stopped. BENCH_ROUNDS rounds (default 2), the order
# reversed each round.
#   bench/link_memory.sh
# Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
dpkg-query -W -f='${Status}' hyperfine 2>/dev/null | grep -q "install ok installed" ||
  { apt-get update -qq; apt-get install -y -qq --no-install-recommends hyperfine >/dev/null; }
n=${BENCH_AGENTS:-1000}
runs=${BENCH_RUNS:-5}
rounds=${BENCH_ROUNDS:-2}
port=${BENCH_CONTROLLER_PORT:-7720}
work=$(mktemp -d /tmp/opsagent-link-memory-XXXXXX)
chmod 700 "$work"
ulimit -n "$(ulimit -Hn)"

# name|defines (comma-separated, for --per_file_copt)
file=controller/server/link_channel_args.cc
before=-DOPSAGENT_BENCH_LINK_BEFORE
candidates=(
  "before|$before"
  "bdp_probe=0|$before,-DOPSAGENT_BENCH_LINK_ARG=grpc.http2.bdp_probe,-DOPSAGENT_BENCH_LINK_VALUE=0"
  "lookahead_bytes=8192|$before,-DOPSAGENT_BENCH_LINK_ARG=grpc.http2.lookahead_bytes,-DOPSAGENT_BENCH_LINK_VALUE=8192"
  "tcp_read_chunk_size=4096|$before,-DOPSAGENT_BENCH_LINK_ARG=grpc.experimental.tcp_read_chunk_size,-DOPSAGENT_BENCH_LINK_VALUE=4096"
  "tcp_max_read_chunk_size=16384|$before,-DOPSAGENT_BENCH_LINK_ARG=grpc.experimental.tcp_max_read_chunk_size,-DOPSAGENT_BENCH_LINK_VALUE=16384"
  "write_buffer_size=8192|$before,-DOPSAGENT_BENCH_LINK_ARG=grpc.http2.write_buffer_size,-DOPSAGENT_BENCH_LINK_VALUE=8192"
  "hpack_table_size.decoder=1024|$before,-DOPSAGENT_BENCH_LINK_ARG=grpc.http2.hpack_table_size.decoder,-DOPSAGENT_BENCH_LINK_VALUE=1024"
  "http2.max_frame_size=4096|$before,-DOPSAGENT_BENCH_LINK_ARG=grpc.http2.max_frame_size,-DOPSAGENT_BENCH_LINK_VALUE=4096"
  "resource quota 96 MiB|$before,-DOPSAGENT_BENCH_LINK_QUOTA_MIB=96"
  "shipped|"
)
[ -z "${BENCH_ONLY:-}" ] || mapfile -t candidates < <(printf '%s\n' "${candidates[@]}" | grep -E "$BENCH_ONLY")
flags=(-c opt --platform_suffix=linkbench --symlink_prefix=/)
for i in "${!candidates[@]}"; do
  defines=${candidates[$i]#*|}
  copt=()
  [ -z "$defines" ] || copt=("--per_file_copt=$file@$defines")
  bazel build "${flags[@]}" "${copt[@]}" //controller/opsctld >/dev/null 2>&1 ||
    bazel build "${flags[@]}" "${copt[@]}" //controller/opsctld
  cp "$(bazel info "${flags[@]}" bazel-bin 2>/dev/null)/controller/opsctld/opsctld" "$work/opsctld-$i"
done
bazel build -c opt //controller/opsctl //bench:agent_swarm >/dev/null 2>&1 ||
  bazel build -c opt //controller/opsctl //bench:agent_swarm
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
cp "$bin/controller/opsctl/opsctl" "$bin/bench/agent_swarm" "$work/"

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/swarm" && chmod 700 "$work/swarm"
"$work/agent_swarm" "$work/swarm" "$n" "$port" >"$work/swarm.out" 2>"$work/swarm.err" &
pids+=($!)
until [ -f "$work/swarm/ready" ]; do sleep 0.1; done
cat >"$work/opsctl.textproto" <<CONF
certificate: "$work/swarm/operator.crt"
private_key: "$work/swarm/operator.key"
ca_certificate: "$work/swarm/ca.crt"
audit_database: "$work/local.db"
controller: "127.0.0.1:$port"
controller_name: "opsctld.swarm"
timeout_seconds: 60
CONF
chmod 600 "$work/opsctl.textproto"

linked() { tail -1 "$work/swarm.out" | cut -d' ' -f2; }
measure() {  # INDEX ROUND: prints "INDEX RSS_KIB RSS_AFTER_KIB FANOUT_MS OK LINKED"
  local i=$1 state=$work/state-$1-$2
  mkdir -p "$state" && chmod 700 "$state"
  cat >"$state/opsctld.textproto" <<CONF
listen_address: "127.0.0.1:$port"
tls { certificate: "$work/swarm/controller.crt" private_key: "$work/swarm/controller.key" ca_certificate: "$work/swarm/ca.crt" }
audit_database: "$state/team-audit.db"
access { roles: "oncall" permissions: "*" }
max_agents: $((n + 1000))
max_concurrency: $n
CONF
  chmod 600 "$state/opsctld.textproto"
  "$work/opsctld-$i" --config "$state/opsctld.textproto" 2>"$state/opsctld.log" &
  local pid=$!
  pids+=("$pid")
  until grep -q serving "$state/opsctld.log"; do sleep 0.05; done
  local started=$SECONDS
  # All N linked, or 90 s (a setting that drops links shows in LINKED).
  while [ "$(linked)" != "$n" ] && [ $((SECONDS - started)) -lt 90 ]; do sleep 0.2; done
  sleep 3
  local count
  count=$(linked)
  local rss after ok
  rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$state/fanout.json" \
    "$work/opsctl --config $work/opsctl.textproto info role:swarm --concurrency $n --output json" >/dev/null
  ok=$("$work/opsctl" --config "$work/opsctl.textproto" info role:swarm --concurrency "$n" --output json 2>/dev/null |
    grep -o '"outcome":"ok"' | wc -l)
  after=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  # Links up 10 s or more come back within a second (the agent's policy).
  while [ $((SECONDS - started)) -lt 11 ]; do sleep 0.5; done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  until [ "$(linked)" = 0 ]; do sleep 0.1; done
  echo "$i $rss $after $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["mean"]*1000))' "$state/fanout.json") $ok $count"
}

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg); $n links" >&2
: >"$work/results"
order=("${!candidates[@]}")
for ((round = 1; round <= rounds; round++)); do
  for i in "${order[@]}"; do
    measure "$i" "$round" | tee -a "$work/results" >&2
  done
  mapfile -t order < <(printf '%s\n' "${order[@]}" | tac)
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
printf '%s\n' "${candidates[@]}" | cut -d'|' -f1 >"$work/names"
python3 - "$work/results" "$work/names" "$n" "$runs" <<'PY'
import sys
from collections import defaultdict
names = open(sys.argv[2]).read().splitlines()
n, runs = int(sys.argv[3]), sys.argv[4]
rows = defaultdict(list)
for line in open(sys.argv[1]):
    i, rss, after, ms, ok, count = line.split()
    rows[int(i)].append((int(rss), int(after), int(ms), int(ok), int(count)))
base = sum(r[0] for r in rows[0]) / len(rows[0]) if 0 in rows and names[0] == "before" else None
print(f"| opsctld listener setting ({n} links) | VmRSS, {n} links linked (each round) | vs before | VmRSS after the fan-outs | `info --concurrency {n}`, mean of {runs} (each round) | agents ok | links up when read |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for i, name in enumerate(names):
    if i not in rows:
        continue
    r = rows[i]
    mean = sum(x[0] for x in r) / len(r)
    delta = "" if base is None or i == 0 else f"{(mean - base) / 1024:+.1f} MiB"
    print(f"| {name} | " + ", ".join(f"{x[0] / 1024:.1f}" for x in r) + f" MiB | {delta} | "
          + ", ".join(f"{x[1] / 1024:.1f}" for x in r) + " MiB | "
          + ", ".join(f"{x[2]}" for x in r) + " ms | " + ", ".join(str(x[3]) for x in r) + " | "
          + ", ".join(str(x[4]) for x in r) + " |")
PY
