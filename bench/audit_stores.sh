#!/usr/bin/env bash
# The team audit log on SQLite and on PostgreSQL 15, side by side in one run
# on one disk: appends (an intent, then its outcome: two chain events, two
# durable commits, as a relayed call writes them) from 1, 10 and 100
# concurrent callers, and `opsctl audit --incident`'s query on a log of
# BENCH_AUDIT_ROWS rows (1,000,000 by default). PostgreSQL is Debian's,
# made with initdb and started with pg_ctl by this script as an unprivileged
# user (postgres when run as root), on a Unix socket in a directory of its
# own, with its defaults (fsync on, synchronous_commit on).
#   bench/audit_stores.sh     (BENCH_SECONDS=N per point, default 5)
# Prints Markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
targets="//bench:audit_store_bench //bench:fill_audit"
bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets
bin=$(bazel info -c opt bazel-bin 2>/dev/null)/bench
seconds=${BENCH_SECONDS:-5}
rows=${BENCH_AUDIT_ROWS:-1000000}
pgbin=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/opsagent-audit-stores-XXXXXX)
# The server's directory is its user's; the SQLite logs stay in one of
# this user's own (opsctl refuses a log in a directory another user owns).
chmod 711 "$work"
pg=$work/postgres
mkdir -p "$pg" "$work/sqlite"
as_postgres=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$pg"
  as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
stop() {
  "${as_postgres[@]}" "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap stop EXIT
"${as_postgres[@]}" "$pgbin/initdb" -D "$pg/data" -U opsagent --auth=trust \
  -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_postgres[@]}" "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" \
  -o "-k $pg -c listen_addresses=''" -w start >/dev/null
# A new, empty log of each kind (called in a subshell: named by time).
new_sqlite() { echo "$work/sqlite/audit-$(date +%s%N).db"; }
new_postgres() {
  local name="bench_$(date +%s%N)"
  psql -q -h "$pg" -U opsagent -d postgres -c "CREATE DATABASE $name" >/dev/null
  echo "postgresql:host=$pg user=opsagent dbname=$name"
}
rate() { "$bin/audit_store_bench" "$1" appends "$2" "$seconds" | awk '{print $2}'; }

# What one durable commit costs each server on this disk: one-row
# autocommit INSERTs from one client (pgbench), and the same from sqlite3.
pgbench_tps=$(
  psql -q -h "$pg" -U opsagent -d postgres -c "CREATE TABLE floor (a int)" >/dev/null
  echo "INSERT INTO floor VALUES (1);" >"$work/floor.sql"
  pgbench -n -h "$pg" -U opsagent -c 1 -T "$seconds" -f "$work/floor.sql" postgres 2>/dev/null |
    awk '/^tps/ { printf "%d", $3 }'
)
echo "PostgreSQL floor: $pgbench_tps single-row commits/s from one client (pgbench, fsync on)"
echo
echo "| callers | SQLite events/s | PostgreSQL events/s | PostgreSQL / SQLite |"
echo "| ---: | ---: | ---: | ---: |"
for callers in 1 10 100; do
  sqlite=$(rate "$(new_sqlite)" "$callers")
  postgres=$(rate "$(new_postgres)" "$callers")
  awk -v c="$callers" -v s="$sqlite" -v p="$postgres" \
    'BEGIN { printf "| %d | %d | %d | %.2fx |\n", c, s, p, p / s }'
done
echo
echo "| $rows rows | \`--incident\` query, median of 20 (ms) | slowest (ms) | rows found | fill time (s) |"
echo "| --- | ---: | ---: | ---: | ---: |"
for kind in SQLite PostgreSQL; do
  if [ "$kind" = SQLite ]; then store=$(new_sqlite); else store=$(new_postgres); fi
  start=$(date +%s.%N)
  "$bin/fill_audit" "$store" "$rows"
  filled=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
  read -r _ median _ max _ found < <("$bin/audit_store_bench" "$store" incident INC-0 20)
  echo "| $kind | $median | $max | $found | $filled |"
done
