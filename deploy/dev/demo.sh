#!/usr/bin/env bash
# The main job, end to end on one machine: installs dependencies, builds,
# makes a development PKI, starts the controller (opsctld, with the team's
# SQLite audit log and its alert webhook) and a local opsagent that dials in
# to it over mutual TLS. An Alertmanager notification (DiskUsageWarning on
# the host) opens an incident and the controller diagnoses it by itself
# (df, du) under its read-only automation role; on-call reads the incident,
# mitigates through the controller (truncates the big log), the resolved
# notification closes it, and its timeline prints as Markdown. Then the
# team's audit log is verified and exported, and the break-glass path
# (--direct) is used as when the controller is down.
# Everything it writes is under .opsagent-dev/ in the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/dev/local_env.sh

bash deploy/dev/install-deps.sh
echo "== building"
bazel build //agent:opsagent //controller/opsctl //controller/opsctld

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
intake_port=${OPSAGENT_DEMO_INTAKE_PORT:-7444}
local_env_add_controller "$controller_port"
# The team's runbooks, with the xqwatcher host's /edx/var at this demo's tree.
mkdir -p "$dev/runbooks"
for book in runbooks/*.textproto; do
  sed "s|/edx/var|$data|g" "$book" >"$dev/runbooks/$(basename "$book")"
done
local_env_add_alert_intake "$intake_port" "${OPSAGENT_DEMO_METRICS_PORT:-9465}" \
  "${OPSAGENT_DEMO_AGENT_METRICS_PORT:-9464}" "$dev/runbooks"
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
# What Alertmanager sends for the team's DiskUsageWarning rule.
notify() {
  local status=$1 ends=$2
  cat >"$dev/notification.json" <<JSON
{"version":"4","status":"$status","receiver":"opsctld","groupKey":"{}:{alertname=\"DiskUsageWarning\"}",
 "groupLabels":{"alertname":"DiskUsageWarning"},"commonLabels":{"alertname":"DiskUsageWarning","instance":"localhost"},
 "commonAnnotations":{},"externalURL":"http://alertmanager.local:9093",
 "alerts":[{"status":"$status","labels":{"alertname":"DiskUsageWarning","instance":"localhost","device":"/dev/root",
   "mountpoint":"/","environment":"dev","severity":"warning","job":"integrations/linux_host"},
   "annotations":{"description":"Filesystem on /dev/root at localhost is 85.02% full."},
   "startsAt":"$alert_start","endsAt":"$ends","generatorURL":"http://prometheus.local:9090/graph","fingerprint":"5f2c0d8e1a3b4c6d"}]}
JSON
  echo; echo "\$ curl -X POST https://127.0.0.1:$intake_port/v1/alerts  # Alertmanager's webhook, $status"
  curl -sS --cacert "$dev/pki/ca.crt" -H "Authorization: Bearer $(cat "$dev/alert-token")" \
    -H "Content-Type: application/json" --data-binary @"$dev/notification.json" \
    "https://127.0.0.1:$intake_port/v1/alerts"
  echo
}
alert_start=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
echo; echo "== an alert arrives: the controller opens an incident and diagnoses it by itself"
notify firing "0001-01-01T00:00:00Z"
for _ in $(seq 100); do
  "$opsctl_bin" incidents | grep -q "ready\|failed" && break
  sleep 0.2
done
run incidents
run incident show INC-1
echo; echo "== on-call mitigates with the incident's id, through the controller"
run hosts
run truncate localhost "$data/log/xqwatcher/xqwatcher.log" --dry-run --incident INC-1
run truncate localhost "$data/log/xqwatcher/xqwatcher.log" --keep-tail 1M --yes --incident INC-1 \
  --reason "DiskUsageWarning xqwatcher"
run du localhost "$data" --top 3 --incident INC-1
echo; echo "\$ opsctl du localhost /etc --incident INC-1    # outside the inspection roots: refused"
"$opsctl_bin" du localhost /etc --incident INC-1 || echo "(exit code $?)"
notify resolved "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"
run incident show INC-1 --output markdown
echo; echo "\$ opsctl triage '<a Grafana notification as Slack shows it>'"
"$opsctl_bin" triage "[FIRING:1] - DiskUsageWarning
Description - Filesystem on /dev/root at localhost is 85.02% full." || true
echo; echo "\$ curl http://127.0.0.1:${OPSAGENT_DEMO_METRICS_PORT:-9465}/metrics | grep ^opsagent_controller_   # what Prometheus scrapes"
curl -sS "http://127.0.0.1:${OPSAGENT_DEMO_METRICS_PORT:-9465}/metrics" | grep "^opsagent_controller_" | grep -v _bucket
run audit --incident INC-1
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
run --direct mem localhost --top 3 --incident INC-1 --reason "controller down"
echo; echo "The agent's own journal has the direct call too:"
grep '"via":"direct"' "$dev/agent-journal.jsonl" | tail -1
echo
echo "Team audit log (the controller's): $dev/team-audit.db"
echo "Break-glass audit log (this operator's): $dev/audit.db"
echo "Try: OPSCTL_CONFIG=$OPSCTL_CONFIG $opsctl_bin --help"
