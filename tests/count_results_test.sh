#!/usr/bin/env bash
# The test count is evidence: tests/count_results.sh must count each case of
# one invocation as what it was, whatever gtest 1.12 writes. A real gtest
# binary (tests/testing/gtest_outcomes) provides the report; the Build Event
# Protocol lines that name it are written here as Bazel writes them.
set -euo pipefail
count=tests/count_results.sh
work=${TEST_TMPDIR:-$(mktemp -d)}
tests/testing/gtest_outcomes --gtest_output="xml:$work/outcomes.xml" >/dev/null || true

event() {  # LABEL STATUS XML
  printf '{"id":{"testResult":{"label":"%s","run":1,"shard":1,"attempt":1}},"testResult":{"testActionOutput":[{"name":"test.log","uri":"file:///dev/null"},{"name":"test.xml","uri":"file://%s"}],"status":"%s"}}\n' "$1" "$3" "$2"
}
event //fake:outcomes FAILED "$work/outcomes.xml" >"$work/bep.json"
printf '//fake:outcomes\n//fake:did_not_build\n' >"$work/expected"

fail() { echo "FAIL: $*"; exit 1; }
expect_counts() {  # WANT OUTPUT
  local got
  got=$(grep '^counts ' <<<"$2" | cut -d' ' -f2-4)
  [ "$got" = "$1" ] || fail "counts '$got', want '$1' in:"$'\n'"$2"
}

out=$(OPSAGENT_CI=0 bash "$count" "$work/bep.json" "$work/expected")
# passed failed skipped: 1 pass; Fails, both cases of the broken suite and
# the target that did not build are failures; the reasoned skip is a skip.
expect_counts "1 4 1" "$out"
grep -q "FAILED //fake:outcomes: BrokenSetUp.First: never ran (its suite's set-up failed)" <<<"$out" ||
  fail "the broken suite's cases are not named as never run: $out"
grep -q "FAILED //fake:did_not_build: no result" <<<"$out" || fail "missing target: $out"
grep -q "SKIPPED //fake:outcomes: Skipping.SkipsWithAReason: needs root for namespaces" <<<"$out" ||
  fail "the skip's reason is lost: $out"

# In CI a skip fails unless its reason is allowed.
out=$(OPSAGENT_CI=1 bash "$count" "$work/bep.json" "$work/expected")
expect_counts "1 5 0" "$out"
grep -q "skipped in CI (not an allowed reason): needs root for namespaces" <<<"$out" ||
  fail "CI skip not refused: $out"

# Nothing else in the directory is counted: only what this invocation named.
cp "$work/outcomes.xml" "$work/stale.xml"
: >"$work/empty.json"
out=$(bash "$count" "$work/empty.json" "$work/expected")
expect_counts "0 2 0" "$out"
echo "PASS"
