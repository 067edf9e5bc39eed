#!/usr/bin/env bash
# The monitoring shipped in deploy/monitoring/: Prometheus' own promtool
# checks the rules and runs their unit tests (each alert fires on the
# series that should fire it and stays quiet otherwise), the dashboard is
# JSON Grafana can import, and every metric the rules and the dashboard
# use is one docs/ALERTS.md lists, so that a renamed metric fails here
# rather than silently on the night.
set -euo pipefail
dir=deploy/monitoring
if ! command -v promtool >/dev/null; then
  echo "SKIP: promtool is not installed (Debian package prometheus)"
  exit 0
fi
promtool check rules "$dir/opsagent-rules.yml"
(cd "$dir" && promtool test rules opsagent-rules-test.yml)
python3 - "$dir/opsagent-dashboard.json" <<'PY'
import json, sys
dashboard = json.load(open(sys.argv[1]))
assert dashboard["uid"] == "opsagent", "dashboard uid"
assert dashboard["panels"], "no panels"
for panel in dashboard["panels"]:
    assert panel["targets"], "panel %s has no query" % panel["title"]
PY
metrics=$(grep -oh 'opsagent_[a-z_]*' "$dir/opsagent-rules.yml" "$dir/opsagent-dashboard.json" |
  sed -E 's/_(bucket|sum|count)$//' | sort -u)
missing=0
for metric in $metrics; do
  if ! grep -q "\`$metric\`" docs/ALERTS.md; then
    echo "FAIL: $metric is used by deploy/monitoring but not listed in docs/ALERTS.md"
    missing=1
  fi
done
[ "$missing" = 0 ] || exit 1
echo "PASS: $(echo "$metrics" | wc -l) metrics, rules and dashboard checked"
