# Sourced by demo.sh and the benchmarks: a local opsagent with a development
# PKI, its configuration and an opsctl configuration, all under $dev, and
# optionally the controller they go through.
#   local_env_setup DEV PORT ROOT   writes PKI and configs; ROOT is the inspection root
#   local_env_add_controller PORT   adds opsctld: the agent links to it, opsctl goes through it
#   local_env_start_controller      starts opsctld, waits until it serves
#   local_env_add_alert_intake PORT METRICS_PORT AGENT_METRICS_PORT RUNBOOKS
#                                   adds opsctld's alert webhook (HTTPS, bearer
#                                   token $dev/alert-token) with automatic
#                                   diagnosis as the automation identity, and
#                                   /metrics on opsctld and the agent
#   local_env_start_agent           starts opsagent, waits until it serves
# Afterwards: $agent_bin, $opsctl_bin, $opsctld_bin, $agent_pid,
# $controller_pid, and OPSCTL_CONFIG exported.

local_env_setup() {
  dev=$1 port=$2 inspection_root=$3
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  agent_bin=$repo/bazel-bin/agent/opsagent
  opsctl_bin=$repo/bazel-bin/controller/opsctl/opsctl
  opsctld_bin=$repo/bazel-bin/controller/opsctld/opsctld
  local pki=$dev/pki
  # Owner-only, whatever the caller's umask: the agent and opsctl refuse
  # configurations and trust files that others could change.
  local saved_umask
  saved_umask=$(umask)
  umask 077
  mkdir -p "$dev"
  chmod go-w "$dev"
  bash "$repo/deploy/pki/make-dev-pki.sh" "$pki" ca >/dev/null
  [ -f "$pki/agent-localhost.crt" ] || bash "$repo/deploy/pki/make-dev-pki.sh" "$pki" agent localhost 127.0.0.1 >/dev/null
  [ -f "$pki/operator-oncall.crt" ] || bash "$repo/deploy/pki/make-dev-pki.sh" "$pki" operator oncall oncall >/dev/null
  cat >"$dev/agent.textproto" <<CONF
listen_address: "127.0.0.1:$port"
tls {
  certificate: "$pki/agent-localhost.crt"
  private_key: "$pki/agent-localhost.key"
  ca_certificate: "$pki/ca.crt"
}
hostname: "localhost"
roles: "xqwatcher"
inspection_roots: "$inspection_root"
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
runbooks: "$repo/runbooks"
CONF
  umask "$saved_umask"
  export OPSCTL_CONFIG=$dev/opsctl.textproto
}

local_env_start_agent() {
  : >"$dev/agent.log"
  "$agent_bin" --config "$dev/agent.textproto" 2>"$dev/agent.log" &
  agent_pid=$!
  for _ in $(seq 100); do
    grep -q "serving" "$dev/agent.log" && return 0
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "opsagent did not start:" >&2
  cat "$dev/agent.log" >&2
  return 1
}

local_env_add_controller() {
  local controller_port=$1 pki=$dev/pki saved_umask
  saved_umask=$(umask)
  umask 077
  [ -f "$pki/controller-opsctld.local.crt" ] ||
    bash "$repo/deploy/pki/make-dev-pki.sh" "$pki" controller opsctld.local 127.0.0.1 >/dev/null
  # The audit checkpoint key: apart from the database, readable by opsctld
  # alone; its public half is what verifies a copy of the log.
  [ -f "$pki/audit-checkpoint.key" ] ||
    openssl genpkey -algorithm ed25519 -out "$pki/audit-checkpoint.key"
  openssl pkey -in "$pki/audit-checkpoint.key" -pubout -out "$pki/audit-checkpoint.pub"
  mkdir -p "$dev/checkpoints"
  cat >"$dev/opsctld.textproto" <<CONF
listen_address: "127.0.0.1:$controller_port"
tls {
  certificate: "$pki/controller-opsctld.local.crt"
  private_key: "$pki/controller-opsctld.local.key"
  ca_certificate: "$pki/ca.crt"
}
audit_database: "$dev/team-audit.db"
inventory: "$dev/inventory.textproto"
access { roles: "oncall" permissions: "*" }
audit_checkpoints {
  key_file: "$pki/audit-checkpoint.key"
  every_events: 8
  every_seconds: 10
  export_file: "$dev/checkpoints/audit-checkpoints.jsonl"
}
CONF
  cat >>"$dev/agent.textproto" <<CONF
environment: "dev"
controller { address: "127.0.0.1:$controller_port" name: "opsctld.local" }
journal_path: "$dev/agent-journal.jsonl"
CONF
  cat >>"$dev/opsctl.textproto" <<CONF
controller: "127.0.0.1:$controller_port"
controller_name: "opsctld.local"
CONF
  umask "$saved_umask"
}

local_env_add_alert_intake() {
  local intake_port=$1 metrics_port=$2 agent_metrics_port=$3 runbooks=$4 pki=$dev/pki saved_umask
  saved_umask=$(umask)
  umask 077
  # The controller's own identity for diagnosis: an operator certificate
  # whose only role is the read-only "automation".
  [ -f "$pki/operator-opsctld-automation.crt" ] ||
    bash "$repo/deploy/pki/make-dev-pki.sh" "$pki" operator opsctld-automation automation >/dev/null
  [ -f "$dev/alert-token" ] || openssl rand -hex 32 >"$dev/alert-token"
  cat >"$dev/automation.textproto" <<CONF
certificate: "pki/operator-opsctld-automation.crt"
private_key: "pki/operator-opsctld-automation.key"
ca_certificate: "pki/ca.crt"
inventory: "inventory.textproto"
audit_database: "automation-audit.db"
runbooks: "$runbooks"
controller: "$(sed -n 's/^controller: "\(.*\)"$/\1/p' "$dev/opsctl.textproto")"
controller_name: "opsctld.local"
CONF
  cat >>"$dev/opsctld.textproto" <<CONF
access { roles: "automation" permissions: ["run", "hosts"] }
metrics_listen_address: "127.0.0.1:$metrics_port"
alert_intake {
  listen_address: "127.0.0.1:$intake_port"
  certificate: "$pki/controller-opsctld.local.crt"
  private_key: "$pki/controller-opsctld.local.key"
  bearer_token_file: "$dev/alert-token"
  allowed_senders: "127.0.0.1"
  runbooks: "$runbooks"
  automation {
    opsctl_config: "$dev/automation.textproto"
    min_interval_seconds: 60
  }
}
CONF
  cat >>"$dev/agent.textproto" <<CONF
authorization { roles: "automation" operations: ["info", "memory", "filesystems", "disk_usage", "open_deleted", "load"] }
metrics_listen_address: "127.0.0.1:$agent_metrics_port"
CONF
  umask "$saved_umask"
}

local_env_start_controller() {
  : >"$dev/opsctld.log"
  "$opsctld_bin" --config "$dev/opsctld.textproto" 2>"$dev/opsctld.log" &
  controller_pid=$!
  for _ in $(seq 100); do
    grep -q "serving" "$dev/opsctld.log" && return 0
    kill -0 "$controller_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "opsctld did not start:" >&2
  cat "$dev/opsctld.log" >&2
  return 1
}
