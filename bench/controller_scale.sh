#!/usr/bin/env bash
# The controller at scale, in one run (needs root for the descriptor limit;
# installs hyperfine):
#   1. 1,000 simulated agents (bench/agent_swarm: each its own certificate,
#      channel, TLS handshake and AgentLink stream, answering at once) linked
#      to the real opsctld, whose team audit log already holds 1,000,000
#      rows (bench/fill_audit);
#   2. opsctld's VmRSS with them connected;
#   3. `opsctl info role:swarm --concurrency 1000` through opsctld (each
#      call audited: intents and outcomes in the 1M-row log);
#   4. `opsctl audit --incident INC-7` on that log, through opsctld;
#   5. opsctld killed (-9) and restarted: when each share of the swarm had
#      reconnected, after the restart;
#   6. the same fan-out with 5,000 agents.
#   bench/controller_scale.sh            (BENCH_SCALE_LARGE=0 skips step 6)
# Prints Markdown tables. All "agents" share this machine's 2 cores with
# the controller and opsctl.
set -euo pipefail
cd "$(dirname "$0")/.."
dpkg-query -W -f='${Status}' hyperfine 2>/dev/null | grep -q "install ok installed" ||
  { apt-get update -qq; apt-get install -y -qq --no-install-recommends hyperfine >/dev/null; }
targets="//controller/opsctl //controller/opsctld //bench:agent_swarm //bench:fill_audit"
bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
bin=$(pwd)/bazel-bin
work=${BENCH_DIR:-/tmp/opsagent-bench}/scale
port=${BENCH_CONTROLLER_PORT:-7700}
rows=${BENCH_AUDIT_ROWS:-1000000}
# As many descriptors as the hard limit allows (one per link).
ulimit -n "$(ulimit -Hn)"
mkdir -p "$work"
chmod 700 "$work"

# The team's log, filled once.
db=$work/team-audit.db
if [ ! -f "$work/.filled-$rows" ]; then
  rm -f "$db"*
  start=$(date +%s.%N)
  "$bin/bench/fill_audit" "$db" "$rows"
  echo "filled $rows rows in $(echo "$(date +%s.%N) - $start" | bc) s" >&2
  touch "$work/.filled-$rows"
fi

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

start_swarm() {  # N
  rm -rf "$work/swarm" && mkdir -p "$work/swarm" && chmod 700 "$work/swarm"
  "$bin/bench/agent_swarm" "$work/swarm" "$1" "$port" >"$work/swarm.out" 2>"$work/swarm.err" &
  swarm_pid=$!
  pids+=("$swarm_pid")
  until [ -f "$work/swarm/ready" ]; do sleep 0.1; done
  cat >"$work/opsctld.textproto" <<CONF
listen_address: "127.0.0.1:$port"
tls { certificate: "$work/swarm/controller.crt" private_key: "$work/swarm/controller.key" ca_certificate: "$work/swarm/ca.crt" }
audit_database: "$db"
access { roles: "oncall" permissions: "*" }
max_agents: 6000
max_concurrency: 5000
CONF
  cat >"$work/opsctl.textproto" <<CONF
certificate: "$work/swarm/operator.crt"
private_key: "$work/swarm/operator.key"
ca_certificate: "$work/swarm/ca.crt"
audit_database: "$work/local.db"
controller: "127.0.0.1:$port"
controller_name: "opsctld.swarm"
timeout_seconds: 60
CONF
  chmod 600 "$work"/*.textproto
}

start_controller() {
  : >"$work/opsctld.log"
  "$bin/controller/opsctld/opsctld" --config "$work/opsctld.textproto" 2>>"$work/opsctld.log" &
  controller_pid=$!
  pids+=("$controller_pid")
  until grep -q serving "$work/opsctld.log"; do sleep 0.05; done
}

wait_connected() {  # N: until the swarm's latest count is N
  until tail -1 "$work/swarm.out" | grep -q "^connected $1 "; do sleep 0.2; done
}

fan_out() {  # N RUNS
  hyperfine -N --warmup 1 --runs "$2" --export-json "$work/fanout-$1.json" \
    "$bin/controller/opsctl/opsctl --config $work/opsctl.textproto info role:swarm --concurrency $1 --output json" >/dev/null
  ok=$("$bin/controller/opsctl/opsctl" --config "$work/opsctl.textproto" info role:swarm --concurrency "$1" --output json 2>/dev/null | grep -c '"outcome":"ok"')
  python3 - "$work/fanout-$1.json" "$1" "$ok" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| `opsctl info role:swarm --concurrency {sys.argv[2]}` through opsctld, {sys.argv[2]} agents ({sys.argv[3]} ok) "
      f"| {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} (min {r['min']*1000:.0f}, max {r['max']*1000:.0f}) |")
PY
}

echo "| measured (\`bench/controller_scale.sh\`) | result |"
echo "| --- | --- |"
start_swarm 1000
start_controller
wait_connected 1000
sleep 2
rss=$(awk '/VmRSS/{print $2}' /proc/$controller_pid/status)
echo "| opsctld VmRSS with 1000 agents linked, $rows-row audit log | $((rss / 1024)).$(( (rss % 1024) * 10 / 1024 )) MiB |"
fan_out 1000 5
rss=$(awk '/VmRSS/{print $2}' /proc/$controller_pid/status)
echo "| opsctld VmRSS after those fan-outs | $((rss / 1024)).$(( (rss % 1024) * 10 / 1024 )) MiB |"
hyperfine -N --warmup 2 --runs 20 --export-json "$work/audit.json" \
  "$bin/controller/opsctl/opsctl --config $work/opsctl.textproto audit --incident INC-7 --output json" >/dev/null
python3 - "$work/audit.json" "$rows" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| `opsctl audit --incident INC-7` through opsctld on a {int(sys.argv[2]):,}-row log (whole opsctl process) "
      f"| {r['mean']*1000:.1f} ms ± {r['stddev']*1000:.1f} |")
PY

# Reconnection after a controller restart.
kill -9 "$controller_pid"
until tail -1 "$work/swarm.out" | grep -q "^connected 0 "; do sleep 0.05; done
restart=$(date +%s.%N)
start_controller
wait_connected 1000
python3 - "$work/swarm.out" "$restart" <<'PY'
import sys
restart = float(sys.argv[2])
points = []
for line in open(sys.argv[1]):
    _, k, t = line.split()
    if float(t) >= restart:
        points.append((float(t) - restart, int(k)))
marks = []
for share in (10, 25, 50, 75, 90, 100):
    need = 1000 * share // 100
    t = next(t for t, k in points if k >= need)
    marks.append(f"{share}% {t:.1f} s")
print("| 1000 agents reconnected after `kill -9` and restart of opsctld (time since the restart) | " + ", ".join(marks) + " |")
# The curve, per second.
curve = []
for second in range(0, int(points[-1][0]) + 2):
    k = max([k for t, k in points if t <= second] or [0])
    curve.append(f"{second}s:{k}")
print("| reconnect curve (agents linked, by second after the restart) | " + " ".join(curve) + " |")
PY

if [ "${BENCH_SCALE_LARGE:-1}" = 1 ]; then
  kill "$controller_pid" "$swarm_pid"; wait "$controller_pid" "$swarm_pid" 2>/dev/null || true
  start_swarm 5000
  start_controller
  wait_connected 5000
  sleep 2
  fan_out 5000 3
  rss=$(awk '/VmRSS/{print $2}' /proc/$controller_pid/status)
  echo "| opsctld VmRSS with 5000 agents linked | $((rss / 1024)).$(( (rss % 1024) * 10 / 1024 )) MiB |"
fi
