#!/usr/bin/env bash
# Instructions per call, counted by callgrind (deterministic: the same binary,
# inputs and environment give the same count whatever else the machine does):
#   - the agent: started under callgrind twice, serving 0 and then N
#     `opsctl mem` calls; (total(N) - total(0)) / N is the cost of one call,
#     start-up excluded;
#   - opsctl: one `opsctl mem localhost` under callgrind, whole process.
#   bench/callgrind_per_call.sh [N]   (default 20; installs valgrind)
# BENCH_OP=info measures `opsctl info` instead of `mem`. BENCH_VIA=controller
# sends the calls through a real opsctld the agent links to (relayed, signed
# calls: the operator certificate checked by the agent, the journal, the
# result signed), instead of straight to the agent's listener.
# BENCH_BIN_DIR=DIR takes the binaries from DIR/agent and DIR/controller
# instead of building them (to compare two builds).
# Prints a Markdown table. How the figures in docs/BENCHMARKS.md on TLS
# contexts and certificate parsing were found: `callgrind_annotate` on the
# files it leaves in $BENCH_DIR/callgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/dev/local_env.sh
n=${1:-20}
dpkg-query -W -f='${Status}' valgrind 2>/dev/null | grep -q "install ok installed" ||
  { apt-get update -qq; apt-get install -y -qq --no-install-recommends valgrind >/dev/null; }
op=${BENCH_OP:-mem}
via=${BENCH_VIA:-direct}
[ -n "${BENCH_BIN_DIR:-}" ] ||
  bazel build -c opt //agent:opsagent //controller/opsctl //controller/opsctld >/dev/null 2>&1
work=${BENCH_DIR:-/tmp/opsagent-bench}/callgrind
rm -rf "$work" && mkdir -p "$work/root"
local_env_setup "$work/env" "${BENCH_PORT:-9553}" "$work/root"
if [ -n "${BENCH_BIN_DIR:-}" ]; then
  agent_bin=$BENCH_BIN_DIR/agent/opsagent
  opsctl_bin=$BENCH_BIN_DIR/controller/opsctl/opsctl
  opsctld_bin=$BENCH_BIN_DIR/controller/opsctld/opsctld
fi
# One liveness probe at start in both runs, none later: the counts compare.
echo 'limits { liveness_probe_seconds: 3600 }' >>"$work/env/agent.textproto"
ready=serving
if [ "$via" = controller ]; then
  local_env_add_controller "${BENCH_CONTROLLER_PORT:-9554}"
  local_env_start_controller
  trap 'kill "$controller_pid" 2>/dev/null || true' EXIT
  ready="connected to the controller"
fi

agent_instructions() {  # CALLS -> total instructions of the agent process
  local calls=$1 out=$work/agent.$1.out
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$agent_bin" --config "$work/env/agent.textproto" 2>"$work/agent.$calls.log" &
  local pid=$!
  for _ in $(seq 600); do grep -q "$ready" "$work/agent.$calls.log" && break; sleep 0.1; done
  for _ in $(seq "$calls"); do "$opsctl_bin" "$op" localhost >/dev/null; done
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  sed -n 's/^summary: *//p' "$out"
}
base=$(agent_instructions 0)
with=$(agent_instructions "$n")
valgrind --tool=callgrind --callgrind-out-file="$work/opsctl.out" \
  "$opsctl_bin" "$op" localhost >/dev/null 2>"$work/opsctl.log" || true
opsctl=$(sed -n 's/^summary: *//p' "$work/opsctl.out")
echo "| callgrind, $(date -u +%Y-%m-%d), $via | instructions |"
echo "| --- | --- |"
echo "| agent, per \`opsctl $op\` call ($via; (total with $n calls - total with none) / $n) | $(( (with - base) / n )) |"
echo "| opsctl, one \`opsctl $op localhost\` ($via), whole process | $opsctl |"
