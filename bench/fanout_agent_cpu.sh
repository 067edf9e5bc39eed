#!/usr/bin/env bash
# What each agent spends per relayed call, and the fan-out's wall time, on
# bench/fanout_vs_ssh.sh's fleet (N real agents linked to one opsctld):
#   - the agents' CPU (utime + stime from /proc/PID/stat, summed over all N)
#     and opsctld's across 10 fan-outs of `opsctl mem` and of `opsctl info`
#     at --concurrency 200, divided by the 10 x N calls;
#   - hyperfine: `mem` through opsctld at C = 200 and 50, `--direct` at both,
#     `info` through opsctld and `--direct` at C = 200.
#   bench/fanout_agent_cpu.sh BIN_DIR [N] [RUNS]   (defaults 200, 5)
# BIN_DIR holds agent/opsagent and controller/{opsctl,opsctld}/ (copy two
# builds aside to compare them). Needs hyperfine. No ssh side.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=$(cd "$1" && pwd) n=${2:-200} runs=${3:-5}
work=${BENCH_DIR:-/tmp/opsagent-bench}/fanout-cpu
rm -rf "$work" && mkdir -p "$work"
BENCH_DIR=$work BENCH_BIN_DIR=$bin BENCH_FLEET_ONLY=1 \
  BENCH_BASE_PORT=${BENCH_BASE_PORT:-23000} \
  bash bench/fanout_vs_ssh.sh "$n" >"$work/fleet.out" 2>&1 &
fleet=$!
stop_fleet() {  # its `sleep` ends, then its own trap stops the fleet
  for c in $(ps --ppid "$fleet" -o pid=); do kill "$c" 2>/dev/null; done
  wait "$fleet" 2>/dev/null
}
trap stop_fleet EXIT
for _ in $(seq 1200); do
  grep -q "fleet ready" "$work/fleet.out" && break
  kill -0 "$fleet" 2>/dev/null || break
  sleep 0.5
done
grep -q "fleet ready" "$work/fleet.out" || { tail "$work/fleet.out"; exit 1; }
export OPSCTL_CONFIG=$work/fanout/opsctl-controller.textproto
opsctl=$bin/controller/opsctl/opsctl
agents=$(ps -eo pid=,args= | awk -v b="$bin/agent/opsagent" '$2==b {print $1}')
controller=$(ps -eo pid=,args= | awk -v b="$bin/controller/opsctld/opsctld" '$2==b {print $1}')
echo "$(echo $agents | wc -w) agents, $(ls /proc | grep -c '^[0-9]') processes, $(ls /proc/[0-9]*/task 2>/dev/null | grep -c '^[0-9]') tasks on this machine"
tick=$(getconf CLK_TCK)
cpu() {  # PIDS -> their utime + stime, in ticks
  local total=0 fields
  for p in "$@"; do
    fields=($(awk '{print $14, $15}' "/proc/$p/stat" 2>/dev/null))
    total=$((total + ${fields[0]:-0} + ${fields[1]:-0}))
  done
  echo "$total"
}
sleep 3
for op in mem info; do
  "$opsctl" "$op" role:bench --concurrency 200 --output json >/dev/null 2>&1
  a0=$(cpu $agents) c0=$(cpu $controller)
  for _ in $(seq 10); do
    "$opsctl" "$op" role:bench --concurrency 200 --output json >/dev/null 2>&1
  done
  a1=$(cpu $agents) c1=$(cpu $controller)
  ok=$("$opsctl" "$op" role:bench --concurrency 200 --output json 2>/dev/null | grep -c '"outcome":"ok"')
  python3 -c "print('$op: agent CPU per call %.2f ms, opsctld CPU per call %.2f ms ($ok of $n ok)' % (($a1-$a0)*1000/$tick/(10*$n), ($c1-$c0)*1000/$tick/(10*$n)))"
done
# -i: a run where some host did not answer is kept (counted below).
hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$work/fanout.json" \
  -n "mem C=200" "$opsctl mem role:bench --concurrency 200 --output json" \
  -n "mem C=50" "$opsctl mem role:bench --concurrency 50 --output json" \
  -n "direct mem C=200" "$opsctl --direct mem role:bench --concurrency 200 --output json" \
  -n "direct mem C=50" "$opsctl --direct mem role:bench --concurrency 50 --output json" \
  -n "info C=200" "$opsctl info role:bench --concurrency 200 --output json" \
  -n "direct info C=200" "$opsctl --direct info role:bench --concurrency 200 --output json" >/dev/null
for mode in "" --direct; do
  ok=$("$opsctl" $mode mem role:bench --concurrency 200 --output json 2>/dev/null | grep -c '"outcome":"ok"')
  echo "after the runs: opsctl $mode mem --concurrency 200: $ok of $n ok"
done
python3 - "$work/fanout.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']}: {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} "
          f"(min {r['min']*1000:.0f}, max {r['max']*1000:.0f})")
PY
