#!/usr/bin/env bash
# `opsctl audit reconcile` across N real agents (bench/fanout_vs_ssh.sh's
# fleet, through its opsctld), after 10 calls to each (2 x N x 10 chain
# events in the team log, as many journal records on each agent), side by
# side in one run with what an operator would do instead: fetch every
# agent's journal with ssh (xargs -P C, to an OpenSSH server on loopback),
# which only fetches and compares nothing. Both sides work on the same
# number of hosts at once, C = BENCH_CONCURRENCY (default 50).
#   bench/reconcile_fleet.sh [N]    (default 200; needs root)
# BENCH_BIN_DIR=DIR takes the binaries from DIR/agent and DIR/controller.
# Prints a Markdown table. All "hosts" share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/loopback_sshd.sh
n=${1:-200}
c=${BENCH_CONCURRENCY:-50}
work=${BENCH_DIR:-/tmp/opsagent-bench}/reconcile
mkdir -p "$work"
bin=${BENCH_BIN_DIR:-}
if [ -z "$bin" ]; then
  targets="//agent:opsagent //controller/opsctl //controller/opsctld"
  bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
  bin=$(pwd)/bazel-bin
fi
BENCH_BIN_DIR=$bin BENCH_DIR=$work BENCH_BASE_PORT=${BENCH_BASE_PORT:-27000} \
  BENCH_FLEET_ONLY=1 bash bench/fanout_vs_ssh.sh "$n" >"$work/fleet.out" 2>&1 &
fleet=$!
cleanup() { kill "$fleet" "${sshd_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
until grep -q "fleet ready" "$work/fleet.out"; do sleep 1; done
export OPSCTL_CONFIG=$work/fanout/opsctl-controller.textproto
opsctl=$bin/controller/opsctl/opsctl
for _ in 1 2 3 4 5; do
  "$opsctl" mem role:bench --output json >/dev/null
  "$opsctl" info role:bench --output json >/dev/null
done
"$opsctl" audit reconcile --since 1h --host role:bench --concurrency "$c" >/dev/null
start_loopback_sshd "$work/ssh" "${BENCH_SSH_PORT:-2224}" 100
seq 1 "$n" >"$work/hosts.txt"
# The journals are the agents' own (0600); ssh's user reads copies, as an
# operator would with sudo.
mkdir -p "$work/copies"
chmod 755 "$work" "$work/copies"
for i in $(seq 1 "$n"); do install -m 644 "$work/fanout/journal-$i.jsonl" "$work/copies/"; done
cat >"$work/ssh-journal" <<SH
#!/bin/sh
exec $ssh_cmd cat $work/copies/journal-\$1.jsonl
SH
chmod +x "$work/ssh-journal"
hyperfine -N --warmup 1 --runs "${BENCH_RUNS:-5}" --export-markdown "$work/reconcile.md" \
  -n "opsctl audit reconcile (N=$n, through opsctld, concurrency $c)" "$opsctl audit reconcile --since 1h --host role:bench --concurrency $c" \
  -n "ssh cat journal x $n (xargs -P $c), no comparison" "xargs -a $work/hosts.txt -P $c -I{} $work/ssh-journal {}" >&2
cat "$work/reconcile.md"
"$opsctl" audit reconcile --since 1h --host role:bench --concurrency "$c" 2>&1 >/dev/null | tail -1
