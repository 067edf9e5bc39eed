#!/usr/bin/env bash
# Measures the units' exposure as `systemd-analyze security` scores it
# (0 fully locked down, 10 fully exposed), offline, from the unit files
# alone, and fails when a unit is above its goal:
#   bash deploy/systemd/security-scores.sh [UNIT_FILE=GOAL ...]
# Default: opsagent.service=2.0 (root by design: see the unit's comments and
# docs/SECURITY.md) and opsctld.service=1.2, the goals of issue 24. Prints
# "opsagent.service 2.1 (goal 2.0): above the goal" per unit; exits 1 if any
# unit is above its goal, 2 if systemd-analyze cannot score one (it needs
# systemd 250 or later for --offline; Debian 12 has 252). The review setting
# by setting: systemd-analyze security --offline=yes UNIT_FILE.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ $# -gt 0 ] || set -- "$here/opsagent.service=2.0" "$here/opsctld.service=1.2"
status=0
for arg in "$@"; do
  unit="${arg%=*}" goal="${arg##*=}"
  if [ ! -f "$unit" ] || ! [[ "$goal" =~ ^[0-9]+(\.[0-9])?$ ]]; then
    echo "usage: security-scores.sh [UNIT_FILE=GOAL ...] (GOAL like 2.0): bad argument $arg" >&2
    exit 2
  fi
  # --threshold is on the 0-100 scale the score is shown divided by 10.
  threshold=$(awk -v g="$goal" 'BEGIN { printf "%d", g * 10 + 0.5 }')
  review=$(systemd-analyze security --offline=yes --no-pager \
    --threshold="$threshold" "$unit" 2>&1)
  above=$?
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$review")
  if [ -z "$score" ]; then
    echo "$(basename "$unit"): systemd-analyze could not score it: $review" >&2
    exit 2
  fi
  if [ $above -ne 0 ]; then
    echo "$(basename "$unit") $score (goal $goal): above the goal"
    status=1
  else
    echo "$(basename "$unit") $score (goal $goal): met"
  fi
done
exit $status
