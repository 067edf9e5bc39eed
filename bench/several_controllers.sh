#!/usr/bin/env bash
# Several controllers at scale (issue 25), side by side in one run (as
# root: the descriptor limit, and PostgreSQL started as the user postgres;
# installs hyperfine):
#   1. PostgreSQL 15 (Debian's: initdb and pg_ctl run by this script as
#      postgres, a Unix socket in a directory of its own, its defaults) and
#      two opsctld, A and B, on its one team log (distinct controller_name,
#      port and state directory; the same controller certificate);
#   2. N simulated agents (bench/agent_swarm, each its own certificate),
#      every one linked to both, as agents with `more_controllers` are;
#   3. each opsctld's VmRSS with N links, and per link;
#   4. `opsctl info role:swarm --concurrency N` through A, and through B;
#   5. A killed (-9), then `opsctl info role:swarm` with an opsctl config
#      naming A first and B in `more_controllers`: its time, how many
#      agents answered, and how many links to B were made again since the
#      start (0 expected: B's links do not depend on A's).
#   bench/several_controllers.sh        (N = 2,000; BENCH_LARGE=1: 10,000;
#                                        BENCH_AGENTS=N sets it)
# Prints Markdown tables. The swarm, both controllers, PostgreSQL and opsctl
# share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (descriptor limit, setpriv postgres)" >&2; exit 2; }
dpkg-query -W -f='${Status}' hyperfine 2>/dev/null | grep -q "install ok installed" ||
  { apt-get update -qq; apt-get install -y -qq --no-install-recommends hyperfine >/dev/null; }
targets="//controller/opsctl //controller/opsctld //bench:agent_swarm"
bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
n=${BENCH_AGENTS:-2000}
[ "${BENCH_LARGE:-0}" = 1 ] && n=${BENCH_AGENTS:-10000}
runs=${BENCH_RUNS:-5}
port_a=${BENCH_PORT_A:-7710}
port_b=${BENCH_PORT_B:-7711}
# Two links an agent in the swarm's one process, and N in each controller.
ulimit -Hn $((2 * n + 4096)) 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/opsagent-several-controllers-XXXXXX)
chmod 711 "$work"

# PostgreSQL, as bench/audit_stores.sh starts it.
pgbin=/usr/lib/postgresql/15/bin
pg=$work/postgres
mkdir -p "$pg"
chown postgres: "$pg"
as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  "${as_postgres[@]}" "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1 || true
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
"${as_postgres[@]}" "$pgbin/initdb" -D "$pg/data" -U opsagent --auth=trust \
  -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_postgres[@]}" "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" \
  -o "-k $pg -c listen_addresses=''" -w start >/dev/null
psql -q -h "$pg" -U opsagent -d postgres -c "CREATE DATABASE opsagent"

# The swarm's PKI first: both controllers present its controller.crt.
mkdir -p "$work/swarm" && chmod 700 "$work/swarm"
touch "$work/swarm/hold"  # no link until both controllers were measured idle
# Two handshakes an agent from one process: about 150 a second here.
SWARM_RAMP_SECONDS=${BENCH_RAMP_SECONDS:-$((n / 75 + 1))} \
  "$bin/bench/agent_swarm" "$work/swarm" "$n" "$port_a,$port_b" \
  >"$work/swarm.out" 2>"$work/swarm.err" &
swarm_pid=$!
pids+=("$swarm_pid")
until [ -f "$work/swarm/ready" ]; do
  kill -0 "$swarm_pid" 2>/dev/null || { cat "$work/swarm.err" >&2; exit 1; }
  sleep 0.1
done

for which in a b; do
  port=port_$which
  mkdir -p "$work/state-$which" && chmod 700 "$work/state-$which"
  echo "host=$pg user=opsagent dbname=opsagent" >"$work/postgresql-$which.conninfo"
  chmod 600 "$work/postgresql-$which.conninfo"
  cat >"$work/opsctld-$which.textproto" <<CONF
listen_address: "127.0.0.1:${!port}"
tls { certificate: "$work/swarm/controller.crt" private_key: "$work/swarm/controller.key" ca_certificate: "$work/swarm/ca.crt" }
audit_database: "$work/state-$which/opsctld.db"
postgresql { conninfo_file: "$work/postgresql-$which.conninfo" controller_name: "opsctld-$which.swarm" }
access { roles: "oncall" permissions: "*" }
max_agents: $((n + 1000))
max_concurrency: $n
# Room for every run of this script in the one operator's audit budget.
audit_write_budget { burst_bytes: 4294967296 bytes_per_second: 16777216 }
CONF
done
opsctl_config() {  # NAME FIRST_PORT [MORE_PORT]
  cat >"$work/opsctl-$1.textproto" <<CONF
certificate: "$work/swarm/operator.crt"
private_key: "$work/swarm/operator.key"
ca_certificate: "$work/swarm/ca.crt"
audit_database: "$work/local-$1.db"
controller: "127.0.0.1:$2"
controller_name: "opsctld.swarm"
timeout_seconds: 60
CONF
  [ -z "${3:-}" ] || echo "more_controllers { address: \"127.0.0.1:$3\" name: \"opsctld.swarm\" }" \
    >>"$work/opsctl-$1.textproto"
}
opsctl_config a "$port_a"
opsctl_config b "$port_b"
opsctl_config ab "$port_a" "$port_b"
chmod 600 "$work"/*.textproto

start_controller() {  # a|b; its pid in $started
  : >"$work/opsctld-$1.log"
  "$bin/controller/opsctld/opsctld" --config "$work/opsctld-$1.textproto" 2>>"$work/opsctld-$1.log" &
  started=$!
  pids+=("$started")
  until grep -q serving "$work/opsctld-$1.log"; do
    kill -0 "$started" 2>/dev/null || { cat "$work/opsctld-$1.log" >&2; exit 1; }
    sleep 0.05
  done
}
rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
start_controller a
pid_a=$started
start_controller b
pid_b=$started
sleep 1
idle_a=$(rss_kib "$pid_a")
idle_b=$(rss_kib "$pid_b")
rm "$work/swarm/hold"
linking=$(date +%s.%N)
# Every agent linked to both: the swarm's total is 2N.
until tail -1 "$work/swarm.out" | grep -q "^connected $((2 * n)) "; do
  kill -0 "$swarm_pid" 2>/dev/null || { cat "$work/swarm.err" >&2; exit 1; }
  sleep 0.2
done
linked=$(date +%s.%N)
sleep 2
rss_a=$(rss_kib "$pid_a")
rss_b=$(rss_kib "$pid_b")

echo "$(grep -h minted "$work/swarm.err"); both controllers' links up" \
  "$(awk -v s="$linking" -v e="$linked" 'BEGIN { printf "%.1f", e - s }') s after the swarm began;" \
  "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| opsctld ($n agents, each linked to A and B) | VmRSS, no link | VmRSS, $n links | per link ((with - without) / $n) |"
echo "| --- | ---: | ---: | ---: |"
for which in a b; do
  idle=idle_$which rss=rss_$which
  echo "| $which | $(mib "${!idle}") | $(mib "${!rss}") |" \
    "$(awk -v i="${!idle}" -v r="${!rss}" -v n="$n" 'BEGIN { printf "%.1f KiB", (r - i) / n }') |"
done

# Fan-out through each controller: all of A's runs, then all of B's.
count_ok() {  # CONFIG [COMMAND...]: agents that answered ok
  "$bin/controller/opsctl/opsctl" --config "$work/opsctl-$1.textproto" \
    info role:swarm --concurrency "$n" --output json 2>>"$work/opsctl.err" |
    grep -o '"outcome":"ok"' | wc -l
}
echo
echo "| \`opsctl info role:swarm --concurrency $n\` ($runs runs, hyperfine) | mean ± σ | min | max | agents ok |"
echo "| --- | ---: | ---: | ---: | ---: |"
for which in a b; do
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/fanout-$which.json" \
    "$bin/controller/opsctl/opsctl --config $work/opsctl-$which.textproto info role:swarm --concurrency $n --output json" \
    >/dev/null
  ok=$(count_ok "$which")
  python3 - "$work/fanout-$which.json" "$which" "$ok" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| through {sys.argv[2].upper()} | {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} "
      f"| {r['min']*1000:.0f} ms | {r['max']*1000:.0f} ms | {sys.argv[3]} of {sys.argv[4]} |")
PY
done
rss_a2=$(rss_kib "$pid_a")
rss_b2=$(rss_kib "$pid_b")

# Failover: A killed, opsctl names A first.
accepted_b_before=$(tail -1 "$work/swarm.out" | grep -o " $port_b:[0-9]*/[0-9]*" | cut -d/ -f2)
kill -9 "$pid_a"
wait "$pid_a" 2>/dev/null || true
killed=$(date +%s.%N)
first_start=$(date +%s.%N)
first_ok=$(count_ok ab)
first_end=$(date +%s.%N)
hyperfine -N --runs "$runs" --export-json "$work/failover.json" \
  "$bin/controller/opsctl/opsctl --config $work/opsctl-ab.textproto info role:swarm --concurrency $n --output json" \
  >/dev/null
last_ok=$(count_ok ab)
sleep 2
python3 - "$work/swarm.out" "$killed" "$port_b" "$n" "$accepted_b_before" \
  "$first_start" "$first_end" "$first_ok" "$last_ok" "$work/failover.json" "$runs" <<'PY'
import json, sys
(out, killed, port_b, n, accepted_before, first_start, first_end, first_ok,
 last_ok, failover, runs) = sys.argv[1:]
killed, n = float(killed), int(n)
up_after, accepted_after = [], 0
for line in open(out):
    fields = line.split()
    if float(fields[2]) < killed:
        continue
    for f in fields[3:]:
        port, counts = f.split(":")
        if port == port_b:
            up, accepted = map(int, counts.split("/"))
            up_after.append(up)
            accepted_after = max(accepted_after, accepted)
r = json.load(open(failover))["results"][0]
first = (float(first_end) - float(first_start)) * 1000
print()
print("| failover: A killed (-9), opsctl config names A then B | result |")
print("| --- | --- |")
print(f"| first `opsctl info role:swarm --concurrency {n}` right after the kill | {first:.0f} ms, {first_ok} of {n} ok |")
print(f"| the same, {runs} more runs (hyperfine) | {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} (min {r['min']*1000:.0f}, max {r['max']*1000:.0f}); last run {last_ok} of {n} ok |")
lowest = min(up_after) if up_after else n
print(f"| links to B re-established since the kill (accepted by B: {accepted_before} before, {max(accepted_after, int(accepted_before))} after) "
      f"| {max(accepted_after, int(accepted_before)) - int(accepted_before)} (B's links up never below {lowest} of {n}) |")
PY
rss_b3=$(rss_kib "$pid_b")
echo
echo "| opsctld VmRSS after the fan-outs | A | B |"
echo "| --- | ---: | ---: |"
echo "| after the runs through each | $(mib "$rss_a2") | $(mib "$rss_b2") |"
echo "| B after the failover runs | (killed) | $(mib "$rss_b3") |"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
