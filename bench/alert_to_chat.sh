#!/usr/bin/env bash
# From an alert to the team's chat, side by side in one run:
#  1. opsctld: an Alertmanager notification POSTed to its intake (HTTPS,
#     bearer token) until a Slack-compatible receiver on this machine
#     (HTTPS) has the "INC-N opened" message, and until it has "INC-N
#     diagnosed" with the df/du headline: ROUNDS new alerts, each resolved
#     after;
#  2. what the team has today: Debian's prometheus-alertmanager's own
#     slack_configs posting to the same receiver, from the alert POSTed to
#     its API (group_wait 0s) until the message arrives.
# One agent, opsctld, Alertmanager and the receiver share this machine.
#   bench/alert_to_chat.sh [ROUNDS]    (default 20; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/dev/local_env.sh
rounds=${1:-20}
work=${BENCH_DIR:-/tmp/opsagent-bench}/chat
rm -rf "$work" && mkdir -p "$work"
targets="//agent:opsagent //controller/opsctl //controller/opsctld"
bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
data=$work/var && mkdir -p "$data/log" && head -c 1M /dev/zero >"$data/log/app.log"
chmod -R a+rX "$work"
base=${BENCH_BASE_PORT:-28100}
local_env_setup "$work/dev" "$base" "$data"
local_env_add_controller $((base + 1))
mkdir -p "$work/dev/runbooks"
for book in runbooks/*.textproto; do
  sed "s|/edx/var|$data|g" "$book" >"$work/dev/runbooks/$(basename "$book")"
done
local_env_add_alert_intake $((base + 2)) $((base + 3)) $((base + 4)) "$work/dev/runbooks"
sed -i 's/min_interval_seconds: 60/min_interval_seconds: 1/' "$work/dev/opsctld.textproto"
receiver_port=$((base + 5)) alertmanager_port=$((base + 6))
pki=$work/dev/pki
(umask 077
 echo "https://127.0.0.1:$receiver_port/services/T0/B0/bench" >"$work/dev/slack-url"
 cat >>"$work/dev/opsctld.textproto" <<CONF
chat {
  slack_webhook_url_file: "$work/dev/slack-url"
  ca_file: "$pki/ca.crt"
}
CONF
)
# The receiver: HTTPS with the dev CA's certificate for 127.0.0.1 (the
# agent's), writing "SECONDS BODY" (its start) per message.
cat >"$work/receiver.py" <<'PY'
import http.server, ssl, sys, time
log = open(sys.argv[4], "a", buffering=1)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        text = body.decode("utf-8", "replace").replace("\n", " ")[:400]
        log.write("%.6f %s\n" % (time.time(), text))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
: >"$work/received.txt"
python3 "$work/receiver.py" "$receiver_port" "$pki/agent-localhost.crt" \
  "$pki/agent-localhost.key" "$work/received.txt" &
receiver_pid=$!
local_env_start_controller
local_env_start_agent
cleanup() {
  kill "${agent_pid:-}" "${controller_pid:-}" "${receiver_pid:-}" "${am_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
until grep -q "connected to the controller" "$work/dev/agent.log"; do sleep 0.1; done

now_ns() { date +%s%N; }
arrival_ns() {  # PATTERN: when the receiver logged the first line matching it
  awk -v p="$1" 'index($0, p) { split($1, t, "."); printf "%s%s000\n", t[1], substr(t[2] "000000", 1, 6); exit }' "$work/received.txt"
}
wait_for() {  # PATTERN
  local deadline=$((SECONDS + 60))
  until grep -q -- "$1" "$work/received.txt"; do
    [ $SECONDS -lt $deadline ] || { echo "no message matching $1" >&2; exit 1; }
    sleep 0.005
  done
}
post() {  # STATUS FINGERPRINT STARTS ENDS
  curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" \
    -H "Authorization: Bearer $(cat "$work/dev/alert-token")" \
    --data-binary "{\"version\":\"4\",\"status\":\"$1\",\"alerts\":[{\"status\":\"$1\",
      \"labels\":{\"alertname\":\"DiskUsageWarning\",\"instance\":\"localhost\",\"mountpoint\":\"/\"},
      \"annotations\":{},\"startsAt\":\"$3\",\"endsAt\":\"$4\",\"fingerprint\":\"$2\"}]}" \
    "https://127.0.0.1:$((base + 2))/v1/alerts"
}
: >"$work/opened.txt" && : >"$work/diagnosed.txt"
for i in $(seq 1 "$rounds"); do
  starts=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  fp=$(printf '%016x' "$i")
  t0=$(now_ns)
  [ "$(post firing "$fp" "$starts" "0001-01-01T00:00:00Z")" = 200 ]
  wait_for "INC-$i opened"
  wait_for "INC-$i diagnosed"
  echo $((($(arrival_ns "INC-$i opened") - t0) / 1000000)) >>"$work/opened.txt"
  echo $((($(arrival_ns "INC-$i diagnosed") - t0) / 1000000)) >>"$work/diagnosed.txt"
  [ "$(post resolved "$fp" "$starts" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)")" = 200 ]
  wait_for "INC-$i resolved"
  sleep 1.1
done

# The baseline: Alertmanager's own Slack notifier to the same receiver.
cat >"$work/alertmanager.yml" <<CONF
route:
  receiver: slack
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
receivers:
- name: slack
  slack_configs:
  - api_url_file: $work/dev/slack-url
    channel: "#oncall"
    title: 'AM {{ .CommonLabels.alertname }}'
    text: 'AM {{ .CommonLabels.alertname }}'
    http_config:
      tls_config:
        ca_file: $pki/ca.crt
CONF
prometheus-alertmanager --config.file="$work/alertmanager.yml" \
  --storage.path="$work/am-data" --web.listen-address="127.0.0.1:$alertmanager_port" \
  --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
am_pid=$!
until curl -sf "http://127.0.0.1:$alertmanager_port/-/ready" >/dev/null; do sleep 0.1; done
: >"$work/alertmanager.txt"
for i in $(seq 1 "$rounds"); do
  t0=$(now_ns)
  curl -sf -o /dev/null -H 'Content-Type: application/json' \
    --data "[{\"labels\":{\"alertname\":\"Bench$i\",\"instance\":\"localhost\"},\"startsAt\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\"}]" \
    "http://127.0.0.1:$alertmanager_port/api/v2/alerts"
  wait_for "AM Bench$i\""
  echo $((($(arrival_ns "AM Bench$i\"") - t0) / 1000000)) >>"$work/alertmanager.txt"
done

stats() {  # FILE: median best worst
  sort -n "$1" >"$1.sorted"
  echo "$(sed -n "$(((rounds + 1) / 2))p" "$1.sorted") $(head -1 "$1.sorted") $(tail -1 "$1.sorted")"
}
read -r om ob ow < <(stats "$work/opened.txt")
read -r dm db dw < <(stats "$work/diagnosed.txt")
read -r am ab aw < <(stats "$work/alertmanager.txt")
echo "| path ($rounds alerts) | median | best | worst |"
echo "|---|---|---|---|"
echo "| opsctld: webhook to \"opened\" message | ${om} ms | ${ob} ms | ${ow} ms |"
echo "| opsctld: webhook to \"diagnosed\" message (df/du headline) | ${dm} ms | ${db} ms | ${dw} ms |"
echo "| Alertmanager slack_configs: alert to message | ${am} ms | ${ab} ms | ${aw} ms |"
