#!/usr/bin/env bash
# Runs every test on a Debian 12 machine, installing what is needed first:
# `bazel test //...`, then the same suite built with AddressSanitizer and
# UBSan (--config=asan; skip with OPSAGENT_SKIP_ASAN=1), then every fuzzer
# for OPSAGENT_FUZZ_SECONDS each (default 20; skip with OPSAGENT_SKIP_FUZZ=1).
# Ends with one line "N passed, N failed" counting individual test cases of
# both passes plus one per fuzzer run.
set -uo pipefail
cd "$(dirname "$0")/.."

bash deploy/dev/install-deps.sh || exit 1
status=0
bazel test //... "$@" || status=$?
if [ "${OPSAGENT_SKIP_ASAN:-0}" != 1 ]; then
  echo "== the same tests under AddressSanitizer + UBSan"
  bazel test --config=asan //... "$@" || status=$?
fi

passed=0 failed=0
if [ "${OPSAGENT_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== every fuzzer for ${OPSAGENT_FUZZ_SECONDS:=20} s (libFuzzer, ASan, UBSan)"
  fuzz_log=$(mktemp)
  bash tests/fuzz/run_fuzzers.sh "$OPSAGENT_FUZZ_SECONDS" 2>&1 | tee "$fuzz_log" |
    grep -v '^INFO\|^Loading\|^Analyzing'
  read -r fuzz_passed fuzz_failed < <(sed -n \
    's/^fuzzers: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$fuzz_log")
  rm -f "$fuzz_log"
  if [ -z "${fuzz_passed:-}" ]; then fuzz_passed=0 fuzz_failed=1; fi
  passed=$((passed + fuzz_passed))
  failed=$((failed + fuzz_failed))
  [ "$fuzz_failed" -eq 0 ] || status=1
fi
while IFS= read -r xml; do
  line=$(grep -o '<testsuites [^>]*>' "$xml" | head -n 1)
  if [ -z "$line" ]; then  # the test binary died before writing its report
    failed=$((failed + 1))
    continue
  fi
  tests=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$line")
  failures=$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$line")
  errors=$(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$line")
  bad=$(( ${failures:-0} + ${errors:-0} ))
  passed=$((passed + ${tests:-0} - bad))
  failed=$((failed + bad))
done < <(find -L bazel-out/k8-fastbuild/testlogs bazel-out/k8-fastbuildasan/testlogs -name test.xml 2>/dev/null)

# A target that failed without reporting a failing case (timeout, crash).
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit $status
