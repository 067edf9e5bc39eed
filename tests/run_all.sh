#!/usr/bin/env bash
# Runs every test on a Debian 12 machine, installing what is needed first:
# `bazel test //...`, then the same suite built with AddressSanitizer and
# UBSan (--config=asan, which leaves out tests tagged no_sanitizer; skip
# with OPSAGENT_SKIP_ASAN=1), then every fuzzer
# for OPSAGENT_FUZZ_SECONDS each (default 20; skip with OPSAGENT_SKIP_FUZZ=1).
#
# Ends with one line "N passed, N failed, N skipped", counted from this run
# only: every test runs again (--nocache_test_results: a result Bazel kept
# from an earlier run, of a test that depends on Debian packages Bazel does
# not track, proves nothing about this machine now), and
# tests/count_results.sh reads each pass's own Build Event Protocol file,
# never test reports left by earlier runs; a cached result it still finds is
# never counted as passed (and fails CI). Individual test cases of each pass
# that ran, each once by its real status, plus one per fuzzer. A target that
# did not build, crashed or timed out counts as one failed case; so does
# every case of a suite whose set-up failed. With OPSAGENT_CI=1 (.ci/run
# sets it) a skipped or DISABLED_ case is a failure unless its reason is
# listed in tests/allowed_skips.txt.
set -uo pipefail
cd "$(dirname "$0")/.."

bash deploy/dev/install-deps.sh || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0 passed=0 failed=0 skipped=0

# The test targets a pass must report on: never manual ones, and under a
# sanitizer not those tagged no_sanitizer (the package test: an instrumented
# build is not what ships).
expected_targets() {  # EXCLUDED_TAG_REGEX
  bazel query --noshow_progress \
    "tests(//...) except attr(tags, '$1', //...)" 2>/dev/null || status=1
}

run_pass() {  # NAME EXCLUDED_TAG_REGEX [BAZEL FLAGS...]
  local name=$1 excluded=$2 started=$SECONDS
  shift 2
  expected_targets "$excluded" >"$work/$name.expected"
  bazel test //... --nocache_test_results --build_event_json_file="$work/$name.json" "$@" || status=1
  bash tests/count_results.sh "$work/$name.json" "$work/$name.expected" >"$work/$name.counts"
  grep -v '^counts ' "$work/$name.counts"
  local p f s c
  read -r _ p f s c < <(grep '^counts ' "$work/$name.counts")
  echo "== $name: ${p:-0} passed, ${f:-1} failed, ${s:-0} skipped, ${c:-0} cached from an earlier run (not counted as passed), $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s"
  passed=$((passed + ${p:-0})) failed=$((failed + ${f:-1})) skipped=$((skipped + ${s:-0}))
}

run_pass tests '\bmanual\b' "$@"
if [ "${OPSAGENT_SKIP_ASAN:-0}" != 1 ]; then
  echo "== the same tests under AddressSanitizer + UBSan"
  run_pass asan '\b(manual|no_sanitizer)\b' --config=asan "$@"
fi
if [ "${OPSAGENT_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== every fuzzer for ${OPSAGENT_FUZZ_SECONDS:=20} s (libFuzzer, ASan, UBSan)"
  started=$SECONDS
  bash tests/fuzz/run_fuzzers.sh "$OPSAGENT_FUZZ_SECONDS" >"$work/fuzz.log" 2>&1
  grep -v '^INFO\|^Loading\|^Analyzing' "$work/fuzz.log"
  read -r fuzz_passed fuzz_failed < <(sed -n \
    's/^fuzzers: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$work/fuzz.log")
  if [ -z "${fuzz_passed:-}" ]; then fuzz_passed=0 fuzz_failed=1; fi
  passed=$((passed + fuzz_passed)) failed=$((failed + fuzz_failed))
  echo "== fuzzers: built and run in $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s"
fi

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
