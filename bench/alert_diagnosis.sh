#!/usr/bin/env bash
# From an alert to its diagnosis, side by side in one run:
#  1. webhook to "diagnosis ready": an Alertmanager notification POSTed to
#     opsctld's intake (HTTPS, bearer token) until `opsctl incidents` shows
#     the automatic df + du done, ROUNDS times (each a new alert, resolved
#     after), as wall time measured here;
#  2. the diagnosis itself: `opsctl runbook run xqwatcher-disk --automatic`
#     through the controller (what opsctld runs in its own process for an
#     alert) against what on-call
#     types today, `ssh HOST 'df -h; du -xh DIR | sort -hr | head -5'` to an
#     OpenSSH server on loopback (hyperfine, warm).
# The tree scanned is a copy of the xqwatcher host's /edx/var shape: 2,000
# files in 40 directories and one 64 MiB log. One agent, the controller and
# sshd share this machine's cores.
#   bench/alert_diagnosis.sh [ROUNDS]    (default 20; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/dev/local_env.sh
source bench/loopback_sshd.sh
rounds=${1:-20}
work=${BENCH_DIR:-/tmp/opsagent-bench}/alerts
rm -rf "$work" && mkdir -p "$work"
targets="//agent:opsagent //controller/opsctl //controller/opsctld"
bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
data=$work/edx/var
for d in $(seq 1 40); do
  mkdir -p "$data/log/app$d"
  for f in $(seq 1 50); do head -c 4096 /dev/zero >"$data/log/app$d/f$f.log"; done
done
mkdir -p "$data/log/xqwatcher"
head -c 64M /dev/zero >"$data/log/xqwatcher/xqwatcher.log"
chmod -R a+rX "$work"
base=${BENCH_BASE_PORT:-28000}
local_env_setup "$work/dev" "$base" "$data"
local_env_add_controller $((base + 1))
mkdir -p "$work/dev/runbooks"
for book in runbooks/*.textproto; do
  sed "s|/edx/var|$data|g" "$book" >"$work/dev/runbooks/$(basename "$book")"
done
local_env_add_alert_intake $((base + 2)) $((base + 3)) $((base + 4)) "$work/dev/runbooks"
# One diagnosis per host per second here (300 s by default).
sed -i 's/min_interval_seconds: 60/min_interval_seconds: 1/' "$work/dev/opsctld.textproto"
local_env_start_controller
local_env_start_agent
cleanup() { kill "${agent_pid:-}" "${controller_pid:-}" "${sshd_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
until grep -q "connected to the controller" "$work/dev/agent.log"; do sleep 0.1; done

post() {  # STATUS FINGERPRINT STARTS ENDS
  curl -sS -o /dev/null -w '%{http_code}' --cacert "$work/dev/pki/ca.crt" \
    -H "Authorization: Bearer $(cat "$work/dev/alert-token")" \
    --data-binary "{\"version\":\"4\",\"status\":\"$1\",\"alerts\":[{\"status\":\"$1\",
      \"labels\":{\"alertname\":\"DiskUsageWarning\",\"instance\":\"localhost\",\"mountpoint\":\"/\"},
      \"annotations\":{},\"startsAt\":\"$3\",\"endsAt\":\"$4\",\"fingerprint\":\"$2\"}]}" \
    "https://127.0.0.1:$((base + 2))/v1/alerts"
}
: >"$work/latency.txt"
for i in $(seq 1 "$rounds"); do
  starts=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  fp=$(printf '%016x' "$i")
  t0=$(date +%s%N)
  [ "$(post firing "$fp" "$starts" "0001-01-01T00:00:00Z")" = 200 ]
  until "$opsctl_bin" incidents --output json | grep -q '"state":"done"'; do sleep 0.01; done
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000)) >>"$work/latency.txt"
  [ "$(post resolved "$fp" "$starts" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)")" = 200 ]
  sleep 1.1
done
sort -n "$work/latency.txt" >"$work/sorted.txt"
median=$(sed -n "$(((rounds + 1) / 2))p" "$work/sorted.txt")
worst=$(tail -1 "$work/sorted.txt")
best=$(head -1 "$work/sorted.txt")

start_loopback_sshd "$work/ssh" "${BENCH_SSH_PORT:-2225}"
export OPSCTL_CONFIG=$work/dev/opsctl.textproto
hyperfine -N --warmup 2 --runs "${BENCH_RUNS:-20}" --export-markdown "$work/diagnosis.md" \
  -n "opsctl runbook run xqwatcher-disk --automatic (df, du, open-deleted; through opsctld)" \
  "$opsctl_bin --config $work/dev/automation.textproto runbook run xqwatcher-disk --automatic --host localhost" \
  -n "ssh: df -h; du -xh DIR | sort -hr | head -5" \
  "$ssh_cmd 'df -h; du -xh $data | sort -hr | head -5'" >&2
echo "| webhook to diagnosis ready ($rounds alerts) | median ${median} ms | best ${best} ms | worst ${worst} ms |"
echo "|---|---|---|---|"
echo
cat "$work/diagnosis.md"
