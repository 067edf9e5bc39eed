#!/usr/bin/env bash
# The main job, end to end on one machine: installs dependencies, builds,
# makes a development PKI, starts a local opsagent with mutual TLS, diagnoses
# it with opsctl (info, mem, df, du) and shows the SQLite audit log.
# Everything it writes is under .opsagent-dev/ in the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
dev=$repo/.opsagent-dev
port=${OPSAGENT_DEMO_PORT:-9443}

bash deploy/dev/install-deps.sh
echo "== building"
bazel build //agent:opsagent //controller:opsctl
agent_bin=$repo/bazel-bin/agent/opsagent
opsctl_bin=$repo/bazel-bin/controller/opsctl

echo "== development PKI in $dev/pki"
pki=$dev/pki
bash deploy/pki/make-dev-pki.sh "$pki" ca
[ -f "$pki/agent-localhost.crt" ] || bash deploy/pki/make-dev-pki.sh "$pki" agent localhost 127.0.0.1
[ -f "$pki/operator-oncall.crt" ] || bash deploy/pki/make-dev-pki.sh "$pki" operator oncall oncall

# A small tree with a big log, like the xqwatcher host's /edx/var.
data=$dev/edx/var
mkdir -p "$data/log/xqwatcher" "$data/log/supervisor" "$data/supervisor"
[ -f "$data/log/xqwatcher/xqwatcher.log" ] || head -c 64M /dev/urandom >"$data/log/xqwatcher/xqwatcher.log"
[ -f "$data/log/supervisor/supervisord.log" ] || head -c 4M /dev/urandom >"$data/log/supervisor/supervisord.log"

cat >"$dev/agent.textproto" <<CONF
listen_address: "127.0.0.1:$port"
tls {
  certificate: "$pki/agent-localhost.crt"
  private_key: "$pki/agent-localhost.key"
  ca_certificate: "$pki/ca.crt"
}
hostname: "localhost"
roles: "xqwatcher"
inspection_roots: "$data"
authorization { roles: "oncall" operations: "*" }
CONF
cat >"$dev/inventory.textproto" <<CONF
host { name: "localhost" address: "127.0.0.1:$port" roles: "xqwatcher" environment: "dev" }
CONF
cat >"$dev/opsctl.textproto" <<CONF
certificate: "pki/operator-oncall.crt"
private_key: "pki/operator-oncall.key"
ca_certificate: "pki/ca.crt"
inventory: "inventory.textproto"
audit_database: "audit.db"
CONF
export OPSCTL_CONFIG=$dev/opsctl.textproto

echo "== starting opsagent on 127.0.0.1:$port (log: $dev/agent.log)"
"$agent_bin" --config "$dev/agent.textproto" 2>"$dev/agent.log" &
agent_pid=$!
trap 'kill $agent_pid 2>/dev/null; wait $agent_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q "serving" "$dev/agent.log" && break
  kill -0 $agent_pid 2>/dev/null || { cat "$dev/agent.log"; exit 1; }
  sleep 0.1
done

run() { echo; echo "\$ opsctl $*"; "$opsctl_bin" "$@"; }
run hosts
run info localhost
run mem localhost --top 5 --incident DEMO-1 --reason "MemoryUsageWarning drill"
run df localhost --incident DEMO-1
run du localhost "$data" --top 5 --incident DEMO-1 --reason "DiskUsageWarning xqwatcher drill"
echo; echo "\$ opsctl du localhost /etc   # outside the inspection roots: refused"
"$opsctl_bin" du localhost /etc --incident DEMO-1 || echo "(exit code $?)"
run audit --incident DEMO-1
echo
echo "Audit database: $dev/audit.db   (OPSCTL_CONFIG=$OPSCTL_CONFIG $opsctl_bin audit)"
