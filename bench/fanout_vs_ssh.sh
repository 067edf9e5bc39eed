#!/usr/bin/env bash
# Fan-out benchmark: `opsctl mem` across N real agents on loopback (distinct
# ports) against the same fan-out with ssh (xargs -P, one ssh per host, to an
# OpenSSH server on loopback), in one run, at the same concurrency on both
# sides, for each level in BENCH_CONCURRENCY (default "50 200"). Prints one
# Markdown table row per level.
#   bench/fanout_vs_ssh.sh [N]    (default 200; needs root)
# All "hosts" are processes on this one machine: the agents, sshd and the
# client share its cores, which a real fleet would not.
# BENCH_SPLIT_CORES=1 runs the agents (and sshd) on CPU 1 and the client side
# (opsctl, xargs + ssh) on CPU 0, as when the hosts are other machines: the
# client no longer competes with 200 servers for the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/loopback_sshd.sh
n=${1:-200}
work=${BENCH_DIR:-/tmp/opsagent-bench}/fanout
mkdir -p "$work"
targets="//agent:opsagent //controller:opsctl"
bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
agent_bin=$(pwd)/bazel-bin/agent/opsagent
opsctl_bin=$(pwd)/bazel-bin/controller/opsctl

pki=$work/pki
bash deploy/pki/make-dev-pki.sh "$pki" ca >/dev/null
[ -f "$pki/agent-wildcard.bench.test.crt" ] || bash deploy/pki/make-dev-pki.sh "$pki" agent '*.bench.test' >/dev/null
[ -f "$pki/operator-bench.crt" ] || bash deploy/pki/make-dev-pki.sh "$pki" operator bench oncall >/dev/null

: >"$work/inventory.textproto"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
server_cpu=() client_cpu=()
if [ "${BENCH_SPLIT_CORES:-0}" = 1 ]; then
  server_cpu=(taskset -c 1) client_cpu=(taskset -c 0)
fi
base_port=${BENCH_BASE_PORT:-21000}
for i in $(seq 1 "$n"); do
  name=$(printf 'a%03d.bench.test' "$i")
  port=$((base_port + i))
  cat >"$work/agent-$i.textproto" <<CONF
listen_address: "127.0.0.1:$port"
tls { certificate: "$pki/agent-wildcard.bench.test.crt" private_key: "$pki/agent-wildcard.bench.test.key" ca_certificate: "$pki/ca.crt" }
hostname: "$name"
authorization { roles: "oncall" operations: "*" }
# One agent per host probes itself every 10 s; 200 on one machine would
# probe 20 times a second, a load no real host sees.
limits { liveness_probe_seconds: 600 }
CONF
  echo "host { name: \"$name\" address: \"127.0.0.1:$port\" roles: \"bench\" environment: \"bench\" }" >>"$work/inventory.textproto"
  "${server_cpu[@]}" "$agent_bin" --config "$work/agent-$i.textproto" 2>"$work/agent-$i.log" &
  pids+=($!)
done
cat >"$work/opsctl.textproto" <<CONF
certificate: "pki/operator-bench.crt"
private_key: "pki/operator-bench.key"
ca_certificate: "pki/ca.crt"
inventory: "inventory.textproto"
audit_database: "audit.db"
CONF
export OPSCTL_CONFIG=$work/opsctl.textproto
for i in $(seq 1 "$n"); do
  until grep -q serving "$work/agent-$i.log"; do sleep 0.05; done
done

levels=${BENCH_CONCURRENCY:-50 200}
max_level=0
for c in $levels; do [ "$c" -gt "$max_level" ] && max_level=$c; done
start_loopback_sshd "$work/ssh" "${BENCH_SSH_PORT:-2223}" $((max_level + 50))
pids+=("$sshd_pid")
if [ ${#server_cpu[@]} -gt 0 ]; then taskset -a -p -c 1 "$sshd_pid" >/dev/null; fi
seq 1 "$n" >"$work/hosts.txt"
cat >"$work/ssh-one" <<SH
#!/bin/sh
exec $ssh_cmd free -h
SH
chmod +x "$work/ssh-one"

runs=${BENCH_RUNS:-3}
for c in $levels; do
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/fanout-$c.json" \
    -n "opsctl mem role:bench --concurrency $c" "${client_cpu[*]} $opsctl_bin mem role:bench --concurrency $c --output json" \
    -n "ssh free -h x $n (xargs -P $c)" "${client_cpu[*]} xargs -a $work/hosts.txt -P $c -I{} $work/ssh-one" >/dev/null
  ok=$("$opsctl_bin" mem role:bench --concurrency "$c" --output json 2>/dev/null | grep -c '"outcome":"ok"')
  python3 - "$work/fanout-$c.json" "$n" "$ok" "$c" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ours, ssh = r[0], r[1]
n, ok, c = sys.argv[2], sys.argv[3], sys.argv[4]
print(f"| `opsctl mem` on {n} agents ({ok} ok), --concurrency {c}, vs ssh `free -h` to {n} hosts, xargs -P {c} "
      f"| {ours['mean']*1000:.0f} ms ± {ours['stddev']*1000:.0f} | {ssh['mean']*1000:.0f} ms ± {ssh['stddev']*1000:.0f} "
      f"| {ours['mean']/ssh['mean']:.3f} ({ssh['mean']/ours['mean']:.1f}x faster) |")
PY
done
