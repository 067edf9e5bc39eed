#!/usr/bin/env bash
# The systemd units' security score (lower is better: 0 is fully locked
# down, 10 fully exposed), as systemd 252's offline review computes it from
# the unit files alone, without installing or starting them:
#   bash bench/unit_security_score.sh [UNIT_FILE...]
# (default: deploy/systemd/opsagent.service and opsctld.service). Prints one
# line per unit, "opsagent.service: 2.7 OK"; the full review, setting by
# setting, is `systemd-analyze security --offline=yes UNIT_FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- deploy/systemd/opsagent.service deploy/systemd/opsctld.service
status=0
for unit in "$@"; do
  # --offline needs systemd 250 or later (Debian 12 has 252).
  if ! review=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1); then
    # A unit over the default threshold still prints its score.
    grep -q 'Overall exposure level' <<<"$review" || {
      echo "$unit: systemd-analyze failed: $review" >&2
      status=1
      continue
    }
  fi
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]* [A-Z]*\).*/\1/p' <<<"$review")
  echo "$(basename "$unit"): ${score:-unknown}"
done
exit $status
