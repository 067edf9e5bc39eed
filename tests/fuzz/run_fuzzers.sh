#!/usr/bin/env bash
# Builds every fuzzer with libFuzzer (--config=fuzz: clang, ASan, UBSan) and
# runs each for SECONDS (default 30), starting from its seed corpus. Prints
# one line per fuzzer with executions, corpus growth and crashes, then
# "fuzzers: N passed, N failed". A crashing input is kept under
# $OPSAGENT_FUZZ_OUT (default /tmp/opsagent-fuzz); copy it into
# tests/fuzz/regressions/<fuzzer>/ so every test run replays it.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-30}"
out="${OPSAGENT_FUZZ_OUT:-/tmp/opsagent-fuzz}"
fuzzers=(meminfo_fuzzer mountinfo_fuzzer alert_text_fuzzer
  alert_notification_fuzzer runbook_markdown_fuzzer agent_config_fuzzer
  command_params_fuzzer)

bazel build --config=fuzz //tests/fuzz/... || exit 1
bin="$(bazel info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz"

passed=0 failed=0
for fuzzer in "${fuzzers[@]}"; do
  work="$out/$fuzzer"
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/crashes"
  cp tests/fuzz/corpus/"$fuzzer"/* "$work/corpus/"
  seeds=$(ls "$work/corpus" | wc -l)
  "$bin/$fuzzer" "$work/corpus" -max_total_time="$seconds" \
    -print_final_stats=1 -artifact_prefix="$work/crashes/" -rss_limit_mb=2048 \
    >"$work/log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  corpus=$(ls "$work/corpus" | wc -l)
  crashes=$(ls "$work/crashes" | wc -l)
  printf '%-26s %10s executions in %ss, corpus %s -> %s, crashes %s\n' \
    "$fuzzer" "${runs:-?}" "$seconds" "$seeds" "$corpus" "$crashes"
  if [ $rc -eq 0 ] && [ "$crashes" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    tail -n 40 "$work/log"
    echo "crashing input(s) kept in $work/crashes"
  fi
done
echo "fuzzers: $passed passed, $failed failed"
[ $failed -eq 0 ]
