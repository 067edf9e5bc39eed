#!/usr/bin/env bash
# The documents cite tests and scripts as evidence; a renamed test or a
# removed script must not leave a claim pointing at nothing. Every test named
# in docs/SECURITY.md ("Suite.Case", or "Suite.*" for a whole suite) must be
# defined in tests/, and every bench/ or tests/ file a document names must
# exist.
set -uo pipefail
status=0
sources=$(find tests -name '*.cc')
flat=$(cat $sources | tr '\n' ' ')
for doc in docs/SECURITY.md docs/BENCHMARKS.md docs/AUDIT.md docs/ALERTS.md; do
  [ -f "$doc" ] || continue
  for name in $(grep -o '`[A-Z][A-Za-z0-9]*Test\.[A-Za-z0-9_*]*`' "$doc" | tr -d '`' | sort -u); do
    suite=${name%%.*} case=${name#*.}
    # A whole name, never a prefix: "Suite.Case" is TEST(Suite, Case), and
    # "Suite.*" any TEST(Suite, ...). clang-format may wrap the case name
    # onto the next line, so whitespace (newlines too) may separate them.
    [ "$case" = "*" ] && case='[A-Za-z0-9_]+'
    if ! grep -Eq "TEST(_F|_P)?\\($suite,[[:space:]]*$case\\)" <<<"$flat"; then
      echo "$doc names $name, which no test in tests/ defines"
      status=1
    fi
  done
  for file in $(grep -o '`\(bench\|tests\)/[A-Za-z0-9_./-]*`' "$doc" | tr -d '`' | sort -u); do
    case "$file" in *'*'*) continue ;; esac
    # A binary is named by its target: bench/scan_tree for scan_tree.cc.
    if [ ! -e "$file" ] && [ ! -e "$file.cc" ] && [ ! -e "$file.sh" ]; then
      echo "$doc names $file, which does not exist"
      status=1
    fi
  done
done
[ $status = 0 ] && echo "every test and file the documents name exists"
exit $status
