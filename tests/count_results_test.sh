#!/usr/bin/env bash
# The test count is evidence: tests/count_results.sh must count each case of
# one invocation once, as what it was, whatever gtest 1.12 or Bazel writes.
# A real gtest binary (tests/testing/gtest_outcomes) provides the reports of
# cases, Bazel's own generate-xml.sh the report of a binary that wrote none
# (a crash, a timeout, a shell test); the Build Event Protocol lines that name
# them are written here as Bazel writes them.
set -euo pipefail
count=tests/count_results.sh
generate_xml=$(find -L external/bazel_tools/tools/test ../bazel_tools/tools/test \
  -name generate-xml.sh 2>/dev/null | head -n 1 || true)
[ -n "$generate_xml" ] || { echo "FAIL: Bazel's generate-xml.sh is not in the runfiles"; exit 1; }
work=${TEST_TMPDIR:-$(mktemp -d)}
outcomes=tests/testing/gtest_outcomes
$outcomes --gtest_output="xml:$work/outcomes.xml" >/dev/null || true
$outcomes --gtest_filter='Passing.*' --gtest_output="xml:$work/passing.xml" >/dev/null
for shard in 0 1; do
  GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=$shard \
    $outcomes --gtest_output="xml:$work/shard$shard.xml" >/dev/null || true
done
# A binary that dies without writing a report, and Bazel's report of it.
bazel_report() {  # NAME EXIT_CODE: writes $work/NAME.xml as Bazel would
  TEST_BINARY=tests/$1 bash "$generate_xml" "$work/$1.log" "$work/$1.xml" 1 "$2"
}
rc=0
bash -c 'echo "about to crash"; kill -ABRT $$' >"$work/crashed.log" 2>&1 || rc=$?
[ $rc = 134 ] || { echo "FAIL: the crashing process exited $rc, not 134"; exit 1; }
bazel_report crashed $rc
rc=0
bash -c 'echo "hung"; kill -TERM $$' >"$work/timed_out.log" 2>&1 || rc=$?
bazel_report timed_out $rc
echo "a failing shell test" >"$work/failed_sh.log"
bazel_report failed_sh 1
echo "a passing shell test" >"$work/passed_sh.log"
bazel_report passed_sh 0

event() {  # LABEL STATUS XML [SHARD [ATTEMPT [EXTRA]]]
  local outputs='{"name":"test.log","uri":"file:///dev/null"}'
  [ -z "$3" ] || outputs+=',{"name":"test.xml","uri":"file://'$3'"}'
  printf '{"id":{"testResult":{"label":"%s","run":1,"shard":%s,"attempt":%s}},"testResult":{"testActionOutput":[%s],"status":"%s"%s}}\n' \
    "$1" "${4:-1}" "${5:-1}" "$outputs" "$2" "${6:-}"
}
fail() { echo "FAIL: $*"; exit 1; }
counts() {  # BEP... : runs the counter on these events, expecting their labels
  printf '%s\n' "$@" >"$work/bep.json"
  sed -n 's/.*"label":"\([^"]*\)".*/\1/p' "$work/bep.json" | sort -u >"$work/expected"
  bash "$count" "$work/bep.json" "$work/expected"
}
expect_counts() {  # WANT OUTPUT: WANT is "passed failed skipped cached"
  local got
  got=$(grep '^counts ' <<<"$2" | cut -d' ' -f2-5)
  [ "$got" = "$1" ] || fail "counts '$got', want '$1' in:"$'\n'"$2"
}
expect_line() {  # LINE OUTPUT
  grep -qF -- "$1" <<<"$2" || fail "no line '$1' in:"$'\n'"$2"
}

# A real gtest report: Fails and both cases of the broken suite are failures,
# the reasoned skip and the DISABLED_ case are skips; the target that did not
# build is a failure.
event //fake:outcomes FAILED "$work/outcomes.xml" >"$work/bep.json"
printf '//fake:outcomes\n//fake:did_not_build\n' >"$work/expected"
out=$(OPSAGENT_CI=0 bash "$count" "$work/bep.json" "$work/expected")
expect_counts "1 4 2 0" "$out"
expect_line "FAILED //fake:outcomes: BrokenSetUp.First: never ran (its suite's set-up failed)" "$out"
expect_line "FAILED //fake:did_not_build: no result" "$out"
expect_line "SKIPPED //fake:outcomes: Skipping.SkipsWithAReason: needs root for namespaces" "$out"
expect_line "SKIPPED //fake:outcomes: Disabled.DISABLED_NeverRuns: disabled (DISABLED_ prefix)" "$out"

# In CI a skip fails unless its reason is allowed; a disabled case too.
out=$(OPSAGENT_CI=1 bash "$count" "$work/bep.json" "$work/expected")
expect_counts "1 6 0 0" "$out"
expect_line "skipped in CI (not an allowed reason): needs root for namespaces" "$out"
expect_line "Disabled.DISABLED_NeverRuns: skipped in CI (not an allowed reason): disabled" "$out"

# Nothing else in the directory is counted: only what this invocation named.
cp "$work/outcomes.xml" "$work/stale.xml"
: >"$work/empty.json"
out=$(bash "$count" "$work/empty.json" "$work/expected")
expect_counts "0 2 0 0" "$out"

# A crash, a timeout and a failed shell test are one failed case each, never
# also a passed one; a passing shell test is one passed case.
out=$(counts "$(event //fake:crashed FAILED "$work/crashed.xml")")
expect_counts "0 1 0 0" "$out"
expect_line "FAILED //fake:crashed: tests/crashed: exited with error code 134" "$out"
out=$(counts "$(event //fake:timed_out TIMEOUT "$work/timed_out.xml")")
expect_counts "0 1 0 0" "$out"
out=$(counts "$(event //fake:timed_out TIMEOUT "")")
expect_counts "0 1 0 0" "$out"
expect_line "FAILED //fake:timed_out: TIMEOUT, no test report" "$out"
out=$(counts "$(event //fake:failed_sh FAILED "$work/failed_sh.xml")" \
  "$(event //fake:passed_sh PASSED "$work/passed_sh.xml")")
expect_counts "1 1 0 0" "$out"
# A <error> written on the <testcase> line or on lines of its own is the same.
sed 's|<error|\n<error|; s|</error>|\n</error>\n|' "$work/crashed.xml" >"$work/crashed_lines.xml"
out=$(counts "$(event //fake:crashed FAILED "$work/crashed_lines.xml")")
expect_counts "0 1 0 0" "$out"
# Every case passed but the binary then failed (a leak report at exit): the
# cases are passes and the target adds one failure.
out=$(counts "$(event //fake:leaked FAILED "$work/passing.xml")")
expect_counts "1 1 0 0" "$out"
expect_line "FAILED //fake:leaked: FAILED, although no case failed" "$out"

# A sharded target: every shard's cases, counted once, as unsharded.
out=$(counts "$(event //fake:sharded FAILED "$work/shard0.xml" 1)" \
  "$(event //fake:sharded FAILED "$work/shard1.xml" 2)")
expect_counts "1 3 2 0" "$out"
[ "$(grep -c '^FAILED //fake:sharded (shard [12], run 1): BrokenSetUp\.' <<<"$out")" = 2 ] ||
  fail "the broken suite's cases are not each counted once across shards: $out"

# A retried target: only the last attempt of each shard counts.
out=$(counts "$(event //fake:retried FAILED "$work/outcomes.xml" 1 1)" \
  "$(event //fake:retried PASSED "$work/passing.xml" 1 2)")
expect_counts "1 0 0 0" "$out"
out=$(counts "$(event //fake:retried PASSED "$work/passing.xml" 1 1)" \
  "$(event //fake:retried FAILED "$work/outcomes.xml" 1 2)" \
  "$(event //fake:retried PASSED "$work/passing.xml" 2 1)")
expect_counts "2 3 2 0" "$out"

# A cached result was not run by this invocation: never a pass; in CI a
# failure.
cached=',"cachedLocally":true'
out=$(counts "$(event //fake:cached PASSED "$work/passing.xml" 1 1 "$cached")")
expect_counts "0 0 0 1" "$out"
expect_line "CACHED //fake:cached: Passing.Passes" "$out"
out=$(OPSAGENT_CI=1 counts "$(event //fake:cached PASSED "$work/passing.xml" 1 1 "$cached")")
expect_counts "0 1 0 0" "$out"
expect_line "cached from an earlier invocation, not run by this one" "$out"
echo "PASS"
