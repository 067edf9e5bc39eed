#!/usr/bin/env bash
# Counts the test cases of ONE `bazel test` invocation from its Build Event
# Protocol file (--build_event_json_file), never from test.xml files left by
# earlier runs:
#   count_results.sh BEP_JSON EXPECTED_TARGETS_FILE
# prints one line per case that did not pass ("FAILED label: case: why",
# "SKIPPED label: case: why", "CACHED label: case"), then
# "counts PASSED FAILED SKIPPED CACHED".
#
# Each case is counted once, by its real status:
# - A case failed if its XML holds a <failure> or an <error>. Bazel writes
#   the report of a binary that wrote none (a crash, a timeout, any shell
#   test) as one case named after the target, holding <error> if it failed.
# - A case skipped without a reason counts as failed: gtest 1.12 marks the
#   cases of a suite whose set-up failed as skipped, with an empty message
#   and no failure of their own. A DISABLED_ case is a skip ("disabled").
# - A target Bazel reports as failed with no failing case (it crashed or
#   leaked after its cases passed, or left no report) adds one failed case.
# - Every shard's report is read; of a retried shard (--flaky_test_attempts)
#   only the last attempt counts.
# - An expected target with no result in this invocation (it did not build)
#   counts as one failed case.
# - A result Bazel took from its cache was not run by this invocation: its
#   passing cases count as CACHED, never as passed. tests/run_all.sh runs
#   with --nocache_test_results, so there should be none.
# - With OPSAGENT_CI=1 a cached case is a failure, and so is a skip unless
#   its reason contains a line of tests/allowed_skips.txt.
set -uo pipefail
bep=$1 expected=$2
allowed=$(dirname "$0")/allowed_skips.txt

ci=${OPSAGENT_CI:-0}
events=$(mktemp) results=$(mktemp) patterns=$(mktemp)
trap 'rm -f "$events" "$results" "$patterns"' EXIT
grep -v '^#' "$allowed" 2>/dev/null | grep -v '^[[:space:]]*$' >"$patterns"

# label TAB run TAB shard TAB attempt TAB status TAB cached TAB xml-path, one
# line per test result event (one per shard, run and attempt).
grep '"id":{"testResult":{' "$bep" | grep '"testResult":{"' | while IFS= read -r event; do
  id=$(sed -n 's/.*"id":{"testResult":{\([^}]*\)}.*/\1/p' <<<"$event")
  label=$(sed -n 's/.*"label":"\([^"]*\)".*/\1/p' <<<"$id")
  number() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$id"; }
  run=$(number run) shard=$(number shard) attempt=$(number attempt)
  status=$(sed -n 's/.*"status":"\([A-Z_]*\)".*/\1/p' <<<"$event")
  cached=0
  grep -Eq '"cached(Locally|Remotely)":true' <<<"$event" && cached=1
  xml=$(sed -n 's/.*"name":"test.xml","uri":"file:\/\/\([^"]*\)".*/\1/p' <<<"$event")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "${run:-0}" "${shard:-0}" \
    "${attempt:-0}" "${status:-NO_STATUS}" "$cached" "$xml"
done >"$events"
# Keep the last attempt of each label, run and shard.
sort -t $'\t' -k1,1 -k2,2n -k3,3n -k4,4n "$events" |
  awk -F '\t' '{ key = $1 FS $2 FS $3; if (key != last && last != "") print row;
                 last = key; row = $0 }
               END { if (last != "") print row }' >"$results"

# One line per case of a test.xml: RESULT <TAB> suite.case <TAB> message,
# RESULT being PASS, FAIL, SKIP or DISABLED. Reads the XML tag by tag (a
# record per "<"), whatever its line breaks, and passes over CDATA.
cases_of() {  # XML
  awk '
    BEGIN { RS = "<" }
    function attr(name,   at) {
      if (match($0, "(^|[[:space:]])" name "=\"[^\"]*\"")) {
        at = substr($0, RSTART, RLENGTH)
        sub(/^[[:space:]]*[^=]*="/, "", at)
        return substr(at, 1, length(at) - 1)
      }
      return ""
    }
    # gtest prefixes messages with "file:line" and a newline (&#x0A;).
    function reason(text) {
      sub(/^[^&]*&#x0A;/, "", text)
      gsub(/&#x0A;/, " ", text)
      return text
    }
    function finish() {
      if (!open) return
      result = failure ? "FAIL" : (disabled ? "DISABLED" : (skip ? "SKIP" : "PASS"))
      printf "%s\t%s%s\t%s\n", result, suite == "" ? "" : suite ".", name, why
      open = 0
    }
    cdata { if (index($0, "]]>")) cdata = 0; next }
    /^!\[CDATA\[/ { if (!index($0, "]]>")) cdata = 1; next }
    /^testcase[[:space:]]/ {
      finish()
      open = 1; name = attr("name"); suite = attr("classname")
      skip = (attr("result") == "skipped")
      disabled = (attr("result") == "suppressed" || name ~ /^DISABLED_/ || suite ~ /^DISABLED_/)
      failure = 0; why = disabled ? "disabled (DISABLED_ prefix)" : ""
      if ($0 ~ /\/>[^>]*$/) finish()
      next
    }
    /^(failure|error)[[:space:]>\/]/ {
      failure = 1
      if (why == "") why = reason(attr("message"))
      next
    }
    /^skipped[[:space:]>\/]/ { if (why == "") why = reason(attr("message")); next }
    /^\/testcase>/ { finish() }
    END { finish() }
  ' "$1"
}

passed=0 failed=0 skipped=0 cached=0
while IFS= read -r label; do
  [ -n "$label" ] || continue
  rows=$(awk -F '\t' -v label="$label" '$1 == label' "$results")
  if [ -z "$rows" ]; then
    echo "FAILED $label: no result (it did not build or did not run)"
    failed=$((failed + 1))
    continue
  fi
  while IFS=$'\t' read -r _ run shard attempt status was_cached xml; do
    where=$label
    [ "$(wc -l <<<"$rows")" -gt 1 ] && where="$label (shard $shard, run $run)"
    target_ok=0
    case "$status" in PASSED | FLAKY) target_ok=1 ;; esac
    if [ -z "$xml" ] || [ ! -f "$xml" ]; then
      if [ $target_ok = 1 ] && [ "$was_cached" = 1 ]; then
        echo "CACHED $where: taken from an earlier invocation, no test report"
        if [ "$ci" = 1 ]; then failed=$((failed + 1)); else cached=$((cached + 1)); fi
      elif [ $target_ok = 1 ]; then
        passed=$((passed + 1))
      else
        echo "FAILED $where: $status, no test report"
        failed=$((failed + 1))
      fi
      continue
    fi
    target_failures=0
    while IFS=$'\t' read -r result name why; do
      [ -n "$result" ] || continue
      if [ "$result" = PASS ] && [ "$was_cached" = 1 ]; then
        if [ "$ci" = 1 ]; then
          echo "FAILED $where: $name: cached from an earlier invocation, not run by this one"
          failed=$((failed + 1))
        else
          echo "CACHED $where: $name"
          cached=$((cached + 1))
        fi
      elif [ "$result" = PASS ]; then
        passed=$((passed + 1))
      elif [ "$result" = FAIL ]; then
        echo "FAILED $where: $name: ${why:-failed}"
        failed=$((failed + 1)) target_failures=$((target_failures + 1))
      elif [ -z "${why// /}" ]; then
        # gtest gives the cases of a suite whose set-up failed an empty skip.
        echo "FAILED $where: $name: never ran (its suite's set-up failed)"
        failed=$((failed + 1)) target_failures=$((target_failures + 1))
      elif [ "$ci" = 1 ] && ! { [ -s "$patterns" ] && grep -qF -f "$patterns" <<<"$why"; }; then
        echo "FAILED $where: $name: skipped in CI (not an allowed reason): $why"
        failed=$((failed + 1)) target_failures=$((target_failures + 1))
      else
        echo "SKIPPED $where: $name: $why"
        skipped=$((skipped + 1))
      fi
    done < <(cases_of "$xml")
    if [ $target_ok = 0 ] && [ $target_failures = 0 ]; then
      echo "FAILED $where: $status, although no case failed (it crashed or leaked after its cases, or was killed)"
      failed=$((failed + 1))
    fi
  done <<<"$rows"
done <"$expected"
echo "counts $passed $failed $skipped $cached"
