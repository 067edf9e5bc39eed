#!/usr/bin/env bash
# Counts the test cases of ONE `bazel test` invocation from its Build Event
# Protocol file (--build_event_json_file), never from test.xml files left by
# earlier runs:
#   count_results.sh BEP_JSON EXPECTED_TARGETS_FILE
# prints one line per case that did not pass ("FAILED label: case: why",
# "SKIPPED label: case: why"), then "counts PASSED FAILED SKIPPED CACHED".
#
# - A case failed if its gtest XML holds a <failure>, skipped if its result
#   is "skipped", passed otherwise.
# - A case skipped without a reason counts as failed: gtest 1.12 marks the
#   cases of a suite whose set-up failed as skipped, with an empty message
#   and no failure of their own. A target Bazel reports as failed with no
#   failing case (a crash, a timeout) counts as one failed case.
# - An expected target with no result in this invocation (it did not build)
#   counts as one failed case.
# - With OPSAGENT_CI=1 a skip is a failure unless its reason contains a line
#   of tests/allowed_skips.txt.
set -uo pipefail
bep=$1 expected=$2
allowed=$(dirname "$0")/allowed_skips.txt

ci=${OPSAGENT_CI:-0}
results=$(mktemp) patterns=$(mktemp)
trap 'rm -f "$results" "$patterns"' EXIT
grep -v '^#' "$allowed" 2>/dev/null | grep -v '^[[:space:]]*$' >"$patterns"
# label TAB status TAB cached TAB xml-path, one line per test result.
grep '"testResult":{' "$bep" | grep '"id":{"testResult"' | while IFS= read -r event; do
  label=$(sed -n 's/.*"id":{"testResult":{"label":"\([^"]*\)".*/\1/p' <<<"$event")
  status=$(sed -n 's/.*"status":"\([A-Z_]*\)".*/\1/p' <<<"$event")
  cached=$(grep -q '"cachedLocally":true' <<<"$event" && echo 1 || echo 0)
  xml=$(sed -n 's/.*"name":"test.xml","uri":"file:\/\/\([^"]*\)".*/\1/p' <<<"$event")
  printf '%s\t%s\t%s\t%s\n' "$label" "${status:-NO_STATUS}" "$cached" "$xml"
done >"$results"

passed=0 failed=0 skipped=0 cached=0
while IFS= read -r label; do
  [ -n "$label" ] || continue
  line=$(grep -F "$label"$'\t' "$results" | head -n 1)
  if [ -z "$line" ]; then
    echo "FAILED $label: no result (it did not build or did not run)"
    failed=$((failed + 1))
    continue
  fi
  IFS=$'\t' read -r _ status was_cached xml <<<"$line"
  [ "$was_cached" = 1 ] && cached=$((cached + 1))
  target_ok=0
  case "$status" in PASSED | FLAKY) target_ok=1 ;; esac
  if [ -z "$xml" ] || [ ! -f "$xml" ]; then
    if [ $target_ok = 1 ]; then passed=$((passed + 1)); else
      echo "FAILED $label: $status, no test report"
      failed=$((failed + 1))
    fi
    continue
  fi
  # One line per case: RESULT <TAB> suite.case <TAB> message.
  cases=$(awk '
    function attr(name,   m) {
      if (match($0, name "=\"[^\"]*\"")) {
        m = substr($0, RSTART + length(name) + 2, RLENGTH - length(name) - 3)
        return m
      }
      return ""
    }
    function finish() {
      if (!open) return
      printf "%s\t%s.%s\t%s\n", failure ? "FAIL" : (skip ? "SKIP" : "PASS"), suite, name, why
      open = 0
    }
    /<testcase / {
      finish()
      open = 1; name = attr("name"); suite = attr("classname")
      skip = (attr("result") == "skipped"); failure = 0; why = ""
      if ($0 ~ /\/>[[:space:]]*$/) finish()
      next
    }
    # gtest prefixes messages with "file:line" and a newline (&#x0A;).
    function reason(text) {
      sub(/^[^&]*&#x0A;/, "", text)
      gsub(/&#x0A;/, " ", text)
      return text
    }
    /<failure / { failure = 1; if (why == "") why = reason(attr("message")); next }
    /<skipped / { if (why == "") why = reason(attr("message")); next }
    /<\/testcase>/ { finish() }
    END { finish() }
  ' "$xml")
  target_failures=0
  while IFS=$'\t' read -r result name why; do
    [ -n "$result" ] || continue
    if [ "$result" = PASS ]; then
      passed=$((passed + 1))
    elif [ "$result" = FAIL ]; then
      echo "FAILED $label: $name: ${why:-failed}"
      failed=$((failed + 1)) target_failures=$((target_failures + 1))
    elif [ -z "${why// /}" ]; then
      # gtest gives the cases of a suite whose set-up failed an empty skip.
      echo "FAILED $label: $name: never ran (its suite's set-up failed)${why:+: $why}"
      failed=$((failed + 1)) target_failures=$((target_failures + 1))
    elif [ "$ci" = 1 ] && ! { [ -s "$patterns" ] && grep -qF -f "$patterns" <<<"$why"; }; then
      echo "FAILED $label: $name: skipped in CI (not an allowed reason): $why"
      failed=$((failed + 1))
    else
      echo "SKIPPED $label: $name: $why"
      skipped=$((skipped + 1))
    fi
  done <<<"$cases"
  if [ $target_ok = 0 ] && [ $target_failures = 0 ]; then
    echo "FAILED $label: $status (no failing case reported: crashed or timed out)"
    failed=$((failed + 1))
  fi
done <"$expected"
echo "counts $passed $failed $skipped $cached"
