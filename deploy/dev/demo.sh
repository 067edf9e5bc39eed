#!/usr/bin/env bash
# The main job, end to end on one machine: installs dependencies, builds,
# makes a development PKI, starts the controller (opsctld, with the team's
# SQLite audit log) and a local opsagent that dials in to it over mutual
# TLS, diagnoses the host with opsctl through the controller (hosts, info,
# mem, df, du), mitigates (truncates the big log), shows the team's audit
# log, then uses the break-glass path (--direct) as when the controller is
# down.
# Everything it writes is under .opsagent-dev/ in the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/dev/local_env.sh

bash deploy/dev/install-deps.sh
echo "== building"
bazel build //agent:opsagent //controller:opsctl //controller:opsctld

dev=$(pwd)/.opsagent-dev
# A small tree with a big log, like the xqwatcher host's /edx/var.
data=$dev/edx/var
mkdir -p "$data/log/xqwatcher" "$data/log/supervisor" "$data/supervisor"
head -c 64M /dev/urandom >"$data/log/xqwatcher/xqwatcher.log"
[ -f "$data/log/supervisor/supervisord.log" ] || head -c 4M /dev/urandom >"$data/log/supervisor/supervisord.log"

echo "== development PKI and configuration in $dev"
local_env_setup "$dev" "${OPSAGENT_DEMO_PORT:-9443}" "$data"
echo "truncatable_logs: \"$data/log/xqwatcher/*.log\"" >>"$dev/agent.textproto"
controller_port=${OPSAGENT_DEMO_CONTROLLER_PORT:-7443}
local_env_add_controller "$controller_port"
echo "== starting opsctld on 127.0.0.1:$controller_port (log: $dev/opsctld.log)"
local_env_start_controller
echo "== starting opsagent on 127.0.0.1:$port, linking to the controller (log: $dev/agent.log)"
local_env_start_agent
trap 'kill $agent_pid $controller_pid 2>/dev/null; wait 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "connected to the controller" "$dev/agent.log" && break
  sleep 0.1
done

run() { echo; echo "\$ opsctl $*"; "$opsctl_bin" "$@"; }
run hosts
run info localhost
run mem localhost --top 5 --incident DEMO-1 --reason "MemoryUsageWarning drill"
run df localhost --incident DEMO-1
run du localhost "$data" --top 5 --incident DEMO-1 --reason "DiskUsageWarning xqwatcher drill"
echo; echo "\$ opsctl du localhost /etc --incident DEMO-1    # outside the inspection roots: refused"
"$opsctl_bin" du localhost /etc --incident DEMO-1 || echo "(exit code $?)"
# Mitigation: truncate the big log in place (dry run first), then check again.
run truncate localhost "$data/log/xqwatcher/xqwatcher.log" --dry-run --incident DEMO-1
run truncate localhost "$data/log/xqwatcher/xqwatcher.log" --keep-tail 1M --yes --incident DEMO-1 \
  --reason "DiskUsageWarning xqwatcher drill"
run du localhost "$data" --top 3 --incident DEMO-1
run audit --incident DEMO-1
# opsctld signs the log's head every 8 events here (deploy/dev/local_env.sh):
# give it a moment for the first checkpoint.
for _ in $(seq 50); do
  [ -s "$dev/checkpoints/audit-checkpoints.jsonl" ] && break
  sleep 0.2
done
run audit verify
echo; echo "\$ opsctl audit export --limit 2    # JSON lines for a SIEM; resume with --after CURSOR"
"$opsctl_bin" audit export --limit 2 | cut -c1-160
echo
echo "== break-glass: the controller stops (signing the log's tail); opsctl --direct talks to the agent"
kill "$controller_pid"; wait "$controller_pid" 2>/dev/null || true
echo; echo "\$ opsctl audit verify --database team-audit.db --checkpoint-key audit-checkpoint.pub --checkpoints audit-checkpoints.jsonl"
"$opsctl_bin" audit verify --database "$dev/team-audit.db" --checkpoint-key "$dev/pki/audit-checkpoint.pub" \
  --checkpoints "$dev/checkpoints/audit-checkpoints.jsonl"
echo; echo "\$ opsctl mem localhost    # through the controller: it is down"
"$opsctl_bin" mem localhost || echo "(exit code $?)"
run --direct mem localhost --top 3 --incident DEMO-1 --reason "controller down"
echo; echo "The agent's own journal has the direct call too:"
grep '"via":"direct"' "$dev/agent-journal.jsonl" | tail -1
echo
echo "Team audit log (the controller's): $dev/team-audit.db"
echo "Break-glass audit log (this operator's): $dev/audit.db"
echo "Try: OPSCTL_CONFIG=$OPSCTL_CONFIG $opsctl_bin --help"
