#!/usr/bin/env bash
# Fan-out benchmark: `opsctl mem` across N real agents on loopback (distinct
# ports), three ways in one run at the same concurrency: through the
# controller (opsctld, over the links the agents hold), directly
# (`opsctl --direct`, a new mutual-TLS connection per host) and with ssh
# (xargs -P, one ssh per host, to an OpenSSH server on loopback), for each
# level in BENCH_CONCURRENCY (default "50 200"). Prints one Markdown table
# row per level.
#   bench/fanout_vs_ssh.sh [N]    (default 200; needs root)
# All "hosts" are processes on this one machine: the agents, sshd and the
# client share its cores, which a real fleet would not.
# BENCH_BIN_DIR=DIR takes opsagent, opsctl and opsctld from DIR/agent and
# DIR/controller instead of building them; BENCH_FLEET_ONLY=1 only starts
# the controller and agents and keeps them up (bench/fanout_ab.sh).
# BENCH_SPLIT_CORES=1 runs the agents (and sshd) on CPU 1 and the client side
# (opsctl, xargs + ssh) on CPU 0, as when the hosts are other machines: the
# client no longer competes with 200 servers for the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/loopback_sshd.sh
n=${1:-200}
work=${BENCH_DIR:-/tmp/opsagent-bench}/fanout
mkdir -p "$work"
bin=${BENCH_BIN_DIR:-}
if [ -z "$bin" ]; then
  targets="//agent:opsagent //controller/opsctl //controller/opsctld"
  bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
  bin=$(pwd)/bazel-bin
fi
agent_bin=$bin/agent/opsagent
opsctl_bin=$bin/controller/opsctl/opsctl
opsctld_bin=$bin/controller/opsctld/opsctld

pki=$work/pki
bash deploy/pki/make-dev-pki.sh "$pki" ca >/dev/null
[ -f "$pki/agent-wildcard.bench.test.crt" ] || bash deploy/pki/make-dev-pki.sh "$pki" agent '*.bench.test' >/dev/null
[ -f "$pki/operator-bench.crt" ] || bash deploy/pki/make-dev-pki.sh "$pki" operator bench oncall >/dev/null
[ -f "$pki/controller-opsctld.bench.crt" ] || bash deploy/pki/make-dev-pki.sh "$pki" controller opsctld.bench >/dev/null

: >"$work/inventory.textproto"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
server_cpu=() client_cpu=()
if [ "${BENCH_SPLIT_CORES:-0}" = 1 ]; then
  server_cpu=(taskset -c 1) client_cpu=(taskset -c 0)
fi
base_port=${BENCH_BASE_PORT:-21000}
controller_port=$((base_port))
rm -f "$work/team-audit.db"* "$work/audit.db"* "$work"/journal-*.jsonl
cat >"$work/opsctld.textproto" <<CONF
listen_address: "127.0.0.1:$controller_port"
tls { certificate: "$pki/controller-opsctld.bench.crt" private_key: "$pki/controller-opsctld.bench.key" ca_certificate: "$pki/ca.crt" }
audit_database: "$work/team-audit.db"
access { roles: "oncall" permissions: "*" }
CONF
chmod 600 "$work/opsctld.textproto"
"${server_cpu[@]}" "$opsctld_bin" --config "$work/opsctld.textproto" 2>"$work/opsctld.log" &
pids+=($!)
until grep -q serving "$work/opsctld.log"; do sleep 0.05; done
for i in $(seq 1 "$n"); do
  name=$(printf 'a%03d.bench.test' "$i")
  port=$((base_port + i))
  cat >"$work/agent-$i.textproto" <<CONF
listen_address: "127.0.0.1:$port"
tls { certificate: "$pki/agent-wildcard.bench.test.crt" private_key: "$pki/agent-wildcard.bench.test.key" ca_certificate: "$pki/ca.crt" }
hostname: "$name"
roles: "bench"
environment: "bench"
controller { address: "127.0.0.1:$controller_port" name: "opsctld.bench" }
journal_path: "$work/journal-$i.jsonl"
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
cp "$work/opsctl.textproto" "$work/opsctl-controller.textproto"
cat >>"$work/opsctl-controller.textproto" <<CONF
controller: "127.0.0.1:$controller_port"
controller_name: "opsctld.bench"
CONF
export OPSCTL_CONFIG=$work/opsctl-controller.textproto
for i in $(seq 1 "$n"); do
  until grep -q "connected to the controller" "$work/agent-$i.log"; do sleep 0.05; done
done

if [ "${BENCH_FLEET_ONLY:-0}" = 1 ]; then
  # bench/fanout_ab.sh: the fleet stays up until this script is killed.
  echo "fleet ready: $OPSCTL_CONFIG"
  while sleep 3600; do :; done
fi

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
    -n "opsctl mem role:bench through opsctld --concurrency $c" "${client_cpu[*]} $opsctl_bin mem role:bench --concurrency $c --output json" \
    -n "opsctl --direct mem role:bench --concurrency $c" "${client_cpu[*]} $opsctl_bin --direct mem role:bench --concurrency $c --output json" \
    -n "ssh free -h x $n (xargs -P $c)" "${client_cpu[*]} xargs -a $work/hosts.txt -P $c -I{} $work/ssh-one" >/dev/null
  ok=$("$opsctl_bin" mem role:bench --concurrency "$c" --output json 2>/dev/null | grep -c '"outcome":"ok"')
  ok_direct=$("$opsctl_bin" --direct mem role:bench --concurrency "$c" --output json 2>/dev/null | grep -c '"outcome":"ok"')
  python3 - "$work/fanout-$c.json" "$n" "$ok" "$ok_direct" "$c" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ctl, direct, ssh = r[0], r[1], r[2]
n, ok, ok_direct, c = sys.argv[2:6]
ms = lambda x: f"{x['mean']*1000:.0f} ms ± {x['stddev']*1000:.0f}"
print(f"| `opsctl mem` on {n} agents, --concurrency {c} (xargs -P {c} for ssh) "
      f"| {ms(ctl)} ({ok} ok) | {ms(direct)} ({ok_direct} ok) | {ms(ssh)} "
      f"| {direct['mean']/ctl['mean']:.1f}x | {ssh['mean']/ctl['mean']:.1f}x |")
PY
done