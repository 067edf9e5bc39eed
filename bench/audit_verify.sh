#!/usr/bin/env bash
# `opsctl audit verify` on a 1,000,000-row team audit log with signed
# checkpoints (one per 1,000 chain events, opsctld's default), side by side
# in one run with what an operator would use instead to check the file:
# SQLite's own `PRAGMA integrity_check` (structure only: it would not see an
# edited row) and `sha256sum` of the file (proves nothing without a digest
# kept elsewhere, and changes with every write).
#   bench/audit_verify.sh            (BENCH_AUDIT_ROWS=N for another size)
# Prints a Markdown table. Installs hyperfine and sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."
for package in hyperfine sqlite3; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    { apt-get update -qq; apt-get install -y -qq --no-install-recommends "$package" >/dev/null; }
done
targets="//controller/opsctl //bench:fill_audit"
bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
bin=$(pwd)/bazel-bin
rows=${BENCH_AUDIT_ROWS:-1000000}
work=${BENCH_DIR:-/tmp/opsagent-bench}/audit-verify
rm -rf "$work"
mkdir -p "$work/keys"
chmod 700 "$work" "$work/keys"
openssl genpkey -algorithm ed25519 -out "$work/keys/checkpoint.key"
chmod 600 "$work/keys/checkpoint.key"
openssl pkey -in "$work/keys/checkpoint.key" -pubout -out "$work/keys/checkpoint.pub"
db=$work/audit.db
echo "filling $db with $rows rows (signing a checkpoint per 1,000 events)" >&2
"$bin/bench/fill_audit" "$db" "$rows" "$work/keys/checkpoint.key"
sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
"$bin/controller/opsctl/opsctl" audit verify --database "$db" \
  --checkpoint-key "$work/keys/checkpoint.pub" >&2
hyperfine --warmup 1 --runs 3 --export-markdown "$work/verify.md" \
  -n "opsctl audit verify (chain + checkpoints)" \
  "$bin/controller/opsctl/opsctl audit verify --database $db --checkpoint-key $work/keys/checkpoint.pub" \
  -n "sqlite3 PRAGMA integrity_check" "sqlite3 $db 'PRAGMA integrity_check'" \
  -n "sha256sum of the file" "sha256sum $db" >&2
cat "$work/verify.md"
echo
echo "rows: $rows; checkpoints: $(sqlite3 "$db" 'SELECT count(*) FROM audit_checkpoints'); file: $(du -h "$db" | cut -f1)"
