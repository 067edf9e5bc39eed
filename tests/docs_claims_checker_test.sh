#!/usr/bin/env bash
# tests/docs_claims_test.sh is the check that every test a document cites
# exists; this proves the check itself: on a fixture tree it accepts whole
# names (also when clang-format wrapped the case onto the next line) and a
# "Suite.*" of a suite that exists, and refuses a prefix of a test's name, a
# longer name, a suite that does not exist and a missing script.
set -euo pipefail
checker=$PWD/tests/docs_claims_test.sh
fixture=${TEST_TMPDIR:-$(mktemp -d)}/tree
mkdir -p "$fixture/tests/unit" "$fixture/docs" "$fixture/bench"
cat >"$fixture/tests/unit/foo_test.cc" <<'CC'
TEST(FooTest, RefusesAForgedJournal) {}
TEST_F(FooTest,
       RefusesAnAlteredJournalAndReportsTheLine) {}
CC
: >"$fixture/bench/present.sh"
fail() { echo "FAIL: $*"; exit 1; }
check() {  # CLAIM: prints the checker's output, returns its status
  printf '| a claim | %s |\n' "$1" >"$fixture/docs/SECURITY.md"
  (cd "$fixture" && bash "$checker")
}
for claim in '`FooTest.RefusesAForgedJournal`' '`FooTest.RefusesAnAlteredJournalAndReportsTheLine`' \
  '`FooTest.*`' '`bench/present.sh`' '`bench/present`'; do
  out=$(check "$claim") || fail "$claim refused: $out"
done
for claim in '`FooTest.RefusesA`' '`FooTest.RefusesAnAlteredJournal`' \
  '`FooTest.RefusesAForgedJournalTwice`' '`BarTest.*`'; do
  if out=$(check "$claim"); then fail "$claim accepted: $out"; fi
  grep -q "docs/SECURITY.md names ${claim//\`/}, which no test in tests/ defines" <<<"$out" ||
    fail "$claim: no message naming it: $out"
done
if out=$(check '`bench/absent.sh`'); then fail "a missing script accepted: $out"; fi
grep -q "names bench/absent.sh, which does not exist" <<<"$out" || fail "no message: $out"
echo "PASS"
