#!/usr/bin/env bash
# Enrollment and renewal of a fleet, in one run:
#   1. N simulated agents (bench/agent_swarm in its enroll mode: each makes
#      its own key and request, enrolls with the real opsctld's host CA over
#      TLS with one token, then links with the certificate it got), started
#      at once: the time from the token's arrival to all enrolled, and to
#      all linked;
#   2. each linked agent renews over its link at once: renewals per second,
#      and the controller's CPU time for them;
#   3. side by side, what a team does without enrollment: one certificate
#      per host made with openssl (deploy/pki/make-dev-pki.sh agent NAME),
#      before anything is copied to the hosts.
#   bench/fleet_enrollment.sh [N]        (default 1000)
# Prints a Markdown table. Agents, controller and openssl share this
# machine's 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
targets="//controller/opsctl //controller/opsctld //bench:agent_swarm"
bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
bin=$(pwd)/bazel-bin
work=${BENCH_DIR:-/tmp/opsagent-bench}/enroll
port=${BENCH_CONTROLLER_PORT:-7710}
enroll_port=$((port + 1))
ulimit -n "$(ulimit -Hn)"
rm -rf "$work" && mkdir -p "$work/swarm" "$work/crl" && chmod -R 700 "$work"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

"$bin/bench/agent_swarm" "$work/swarm" "$count" "$port" "$enroll_port" \
  >"$work/swarm.out" 2>"$work/swarm.err" &
pids+=($!)
until [ -f "$work/swarm/ready" ]; do sleep 0.1; done
cat >"$work/opsctld.textproto" <<CONF
listen_address: "127.0.0.1:$port"
tls { certificate: "$work/swarm/controller.crt" private_key: "$work/swarm/controller.key" ca_certificate: "$work/swarm/ca.crt" }
audit_database: "$work/team-audit.db"
access { roles: "oncall" permissions: "*" }
max_agents: 6000
host_ca {
  certificate: "$work/swarm/host-ca.crt"
  private_key: "$work/swarm/host-ca.key"
  enrollment_listen_address: "127.0.0.1:$enroll_port"
  crl_file: "$work/crl/host-ca.crl"
}
CONF
cat >"$work/opsctl.textproto" <<CONF
certificate: "$work/swarm/operator.crt"
private_key: "$work/swarm/operator.key"
ca_certificate: "$work/swarm/ca.crt"
audit_database: "$work/local.db"
controller: "127.0.0.1:$port"
controller_name: "opsctld.swarm"
CONF
chmod 600 "$work"/*.textproto
"$bin/controller/opsctld/opsctld" --config "$work/opsctld.textproto" 2>"$work/opsctld.log" &
controller_pid=$!
pids+=("$controller_pid")
until grep -q "enrollment: hosts" "$work/opsctld.log"; do sleep 0.05; done
(umask 077; "$bin/controller/opsctl/opsctl" --config "$work/opsctl.textproto" \
  enroll token create --roles swarm --names 'a*' --uses "$count" --ttl 1h \
  >"$work/swarm/token.new" 2>/dev/null)
mv "$work/swarm/token.new" "$work/swarm/token"
until grep -q "^enrolled " "$work/swarm.out"; do sleep 0.1; done
until tail -1 "$work/swarm.out" | grep -q "^connected $count "; do sleep 0.1; done
start=$(awk '/^enroll-start/{print $2}' "$work/swarm.out")
enrolled=$(awk '/^enrolled/{print $2, $3}' "$work/swarm.out")
linked=$(awk -v n="$count" '$1=="connected" && $2==n {print $3; exit}' "$work/swarm.out")
rss=$(awk '/VmRSS/{print $2}' /proc/$controller_pid/status)

ticks() { awk '{print $14 + $15}' "/proc/$controller_pid/stat"; }
before=$(ticks)
touch "$work/swarm/renew"
until grep -q "^renew-start" "$work/swarm.out"; do sleep 0.1; done
until tail -1 "$work/swarm.out" | grep -q "^renewed $count "; do sleep 0.1; done
after=$(ticks)
renew_start=$(awk '/^renew-start/{print $2}' "$work/swarm.out")
renew_end=$(awk -v n="$count" '$1=="renewed" && $2==n {print $3; exit}' "$work/swarm.out")
hz=$(getconf CLK_TCK)

# What a person would run instead, one host at a time, on this machine.
mkdir -p "$work/openssl" && chmod 700 "$work/openssl"
bash deploy/pki/make-dev-pki.sh "$work/openssl" ca >/dev/null
manual_start=$(date +%s.%N)
for i in $(seq 1 "$count"); do
  bash deploy/pki/make-dev-pki.sh "$work/openssl" agent "h$i.swarm.test" >/dev/null
done
manual_end=$(date +%s.%N)

python3 - "$count" "$start" "$enrolled" "$linked" "$renew_start" "$renew_end" \
  "$before" "$after" "$hz" "$rss" "$manual_start" "$manual_end" <<'PY'
import sys
n = int(sys.argv[1]); start = float(sys.argv[2])
ok, enrolled = sys.argv[3].split(); enrolled = float(enrolled)
linked = float(sys.argv[4]); rs, re_ = float(sys.argv[5]), float(sys.argv[6])
cpu = (int(sys.argv[8]) - int(sys.argv[7])) / int(sys.argv[9])
rss = int(sys.argv[10]) / 1024
manual = float(sys.argv[12]) - float(sys.argv[11])
print("| measured (`bench/fleet_enrollment.sh %d`) | result |" % n)
print("| --- | --- |")
print(f"| {n} agents enroll at once (one token; TLS, CSR check, signing, audit row each) | {ok} enrolled in {enrolled - start:.2f} s ({int(ok) / (enrolled - start):.0f}/s) |")
print(f"| ... and all linked with their new certificates | {linked - start:.2f} s after the token arrived |")
print(f"| opsctld VmRSS with them linked | {rss:.1f} MiB |")
print(f"| {n} renewals over the links at once | {re_ - rs:.2f} s ({n / (re_ - rs):.0f}/s); opsctld CPU {cpu:.2f} s ({cpu / n * 1000:.2f} ms each) |")
print(f"| by hand: `make-dev-pki.sh agent NAME` (openssl) for {n} hosts, before any copying | {manual:.2f} s ({manual / n * 1000:.1f} ms per host) |")
print(f"| enrollment vs by hand (certificates only) | {manual / (enrolled - start):.1f}x faster |")
PY
