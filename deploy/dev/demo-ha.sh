#!/usr/bin/env bash
# Two controllers, one team log, on one machine: PostgreSQL 15 (Debian's,
# made with initdb and started with pg_ctl as the user postgres, on a Unix
# socket only), two opsctld on it (one checkpoint key, each its own name,
# port and export file), one opsagent linked to both, and on-call's opsctl
# listing both. Controller A is killed with SIGKILL mid-shift: the next
# command goes through B at once (opsctl says so on stderr), the agent's link
# to B never dropped, B takes over signing checkpoints, and the one log still
# verifies. A comes back and settles its own interrupted calls.
# Everything it writes is under .opsagent-dev-ha/ (PostgreSQL's directory,
# which its user must reach, under /tmp). Run as root, like demo.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
bash deploy/dev/install-deps.sh
echo "== building"
bazel build //agent:opsagent //controller/opsctl //controller/opsctld
agent_bin=$repo/bazel-bin/agent/opsagent
opsctl_bin=$repo/bazel-bin/controller/opsctl/opsctl
opsctld_bin=$repo/bazel-bin/controller/opsctld/opsctld

dev=$repo/.opsagent-dev-ha
rm -rf "$dev"
umask 077
mkdir -p "$dev"
pki=$dev/pki
bash deploy/pki/make-dev-pki.sh "$pki" ca >/dev/null
bash deploy/pki/make-dev-pki.sh "$pki" agent localhost 127.0.0.1 >/dev/null
bash deploy/pki/make-dev-pki.sh "$pki" operator oncall oncall >/dev/null
bash deploy/pki/make-dev-pki.sh "$pki" controller opsctld-a.local 127.0.0.1 >/dev/null
bash deploy/pki/make-dev-pki.sh "$pki" controller opsctld-b.local 127.0.0.1 >/dev/null
openssl genpkey -algorithm ed25519 -out "$pki/audit-checkpoint.key"
openssl pkey -in "$pki/audit-checkpoint.key" -pubout -out "$pki/audit-checkpoint.pub"

echo "== PostgreSQL 15 (initdb, pg_ctl as postgres)"
pgbin=/usr/lib/postgresql/15/bin
pg=$(mktemp -d /tmp/opsagent-demo-ha-XXXXXX)
as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
chown postgres: "$pg"
"${as_postgres[@]}" "$pgbin/initdb" -D "$pg/data" -U opsagent --auth=trust -E UTF8 \
  --locale=C.UTF-8 >/dev/null
"${as_postgres[@]}" "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" \
  -o "-k $pg -c listen_addresses=''" -w start >/dev/null
psql -q -h "$pg" -U opsagent -d postgres -c "CREATE DATABASE opsagent"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  "${as_postgres[@]}" "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$pg"
}
trap cleanup EXIT

port_a=${OPSAGENT_HA_PORT_A:-7453}
port_b=${OPSAGENT_HA_PORT_B:-7454}
agent_port=${OPSAGENT_HA_AGENT_PORT:-9453}
for which in a b; do
  port=port_$which
  mkdir -p "$dev/state-$which"
  echo "host=$pg user=opsagent dbname=opsagent" >"$dev/postgresql-$which.conninfo"
  cat >"$dev/opsctld-$which.textproto" <<CONF
listen_address: "127.0.0.1:${!port}"
tls {
  certificate: "$pki/controller-opsctld-$which.local.crt"
  private_key: "$pki/controller-opsctld-$which.local.key"
  ca_certificate: "$pki/ca.crt"
}
audit_database: "$dev/state-$which/opsctld.db"
postgresql {
  conninfo_file: "$dev/postgresql-$which.conninfo"
  controller_name: "opsctld-$which.local"
}
access { roles: "oncall" permissions: "*" }
audit_checkpoints {
  key_file: "$pki/audit-checkpoint.key"
  every_events: 4
  every_seconds: 2
  export_file: "$dev/checkpoints-$which.jsonl"
}
CONF
done
cat >"$dev/agent.textproto" <<CONF
listen_address: "127.0.0.1:$agent_port"
tls {
  certificate: "$pki/agent-localhost.crt"
  private_key: "$pki/agent-localhost.key"
  ca_certificate: "$pki/ca.crt"
}
hostname: "localhost"
roles: "xqwatcher"
environment: "dev"
authorization { roles: "oncall" operations: "*" }
journal_path: "$dev/agent-journal.jsonl"
controller { address: "127.0.0.1:$port_a" name: "opsctld-a.local" }
more_controllers { address: "127.0.0.1:$port_b" name: "opsctld-b.local" }
CONF
cat >"$dev/opsctl.textproto" <<CONF
certificate: "pki/operator-oncall.crt"
private_key: "pki/operator-oncall.key"
ca_certificate: "pki/ca.crt"
audit_database: "audit.db"
controller: "127.0.0.1:$port_a"
controller_name: "opsctld-a.local"
more_controllers { address: "127.0.0.1:$port_b" name: "opsctld-b.local" }
CONF
export OPSCTL_CONFIG=$dev/opsctl.textproto

# Starts a daemon with its log, waits for "serving"; its pid in $started.
start() {
  local name=$1
  shift
  : >"$dev/$name.log"
  "$@" 2>"$dev/$name.log" &
  started=$!
  pids+=("$started")
  for _ in $(seq 100); do
    grep -q "serving" "$dev/$name.log" && return 0
    kill -0 "$started" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start:" >&2
  cat "$dev/$name.log" >&2
  return 1
}
echo "== two opsctld on one log: A on 127.0.0.1:$port_a, B on 127.0.0.1:$port_b"
start opsctld-a "$opsctld_bin" --config "$dev/opsctld-a.textproto"
pid_a=$started
start opsctld-b "$opsctld_bin" --config "$dev/opsctld-b.textproto"
echo "== opsagent linked to both"
start agent "$agent_bin" --config "$dev/agent.textproto"
for which in a b; do
  for _ in $(seq 100); do
    grep -q "connected to the controller opsctld-$which.local" "$dev/agent.log" && break
    sleep 0.1
  done
done
run() { echo; echo "\$ opsctl $*"; "$opsctl_bin" "$@"; }
run hosts
run mem localhost --top 3 --reason "shift starts"
echo
echo "== kill -9 controller A"
kill -9 "$pid_a"
wait "$pid_a" 2>/dev/null || true
echo; echo "\$ opsctl mem localhost --top 3    # A is first in the config, and dead"
start_ms=$(date +%s%3N)
"$opsctl_bin" mem localhost --top 3 --reason "A is down"
echo "(answered through B in $(($(date +%s%3N) - start_ms)) ms, start to finish)"
echo; echo "The agent's link to B never dropped:"
grep -c "connected to the controller opsctld-b.local" "$dev/agent.log" | sed 's/^/  connections to B: /'
run audit --host localhost
# B holds the signing lease now: wait for a checkpoint it signed.
for _ in $(seq 50); do
  [ "$(wc -l <"$dev/checkpoints-b.jsonl" 2>/dev/null || echo 0)" -ge 2 ] && break
  sleep 0.2
done
run audit verify
echo
echo "== controller A back: it settles its own interrupted calls, none of B's"
start opsctld-a "$opsctld_bin" --config "$dev/opsctld-a.textproto"
# The agent dials A again on its own backoff (1 s doubling, at most 30 s).
for _ in $(seq 300); do
  [ "$(grep -c "connected to the controller opsctld-a.local" "$dev/agent.log")" -ge 2 ] && break
  sleep 0.1
done
run hosts
echo; echo "\$ psql -c 'SELECT controller, count(*) FROM actions GROUP BY 1'   # one log, both controllers"
psql -h "$pg" -U opsagent -d opsagent -c "SELECT controller, count(*) AS rows FROM actions GROUP BY 1 ORDER BY 1"
echo "Logs and configurations: $dev"
