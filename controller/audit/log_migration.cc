#include "controller/audit/log_migration.h"

#include <sqlite3.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/postgres/pg_connection.h"
#include "common/sqlite_statement.h"
#include "common/status_macros.h"
#include "controller/audit/audit_chain.h"
#include "controller/audit/audit_schema.h"

namespace opsagent {
namespace {

// A table copied as it is: its columns, and the PostgreSQL cast of each
// ("" for text).
struct CopiedTable {
  const char* name;
  const char* order_by;
  std::vector<std::pair<const char*, const char*>> columns;
};

const CopiedTable& Actions() {
  static const CopiedTable* const table =
      new CopiedTable{"actions",
                      "id",
                      {{"id", "::bigint"},
                       {"request_id", ""},
                       {"run_id", ""},
                       {"started_at_ms", "::bigint"},
                       {"finished_at_ms", "::bigint"},
                       {"duration_ms", "::bigint"},
                       {"os_user", ""},
                       {"os_uid", "::bigint"},
                       {"sudo_user", ""},
                       {"cert_identity", ""},
                       {"host", ""},
                       {"address", ""},
                       {"operation", ""},
                       {"parameters", ""},
                       {"reason", ""},
                       {"incident", ""},
                       {"dry_run", "::bigint"},
                       {"mutating", "::bigint"},
                       {"outcome", ""},
                       {"error_code", ""},
                       {"message", ""},
                       {"result_summary", ""},
                       {"result_json", ""},
                       {"agent_result_sha256", ""},
                       {"agent_signature", ""},
                       {"ticket", ""}}};
  return *table;
}

const CopiedTable& Chain() {
  static const CopiedTable* const table =
      new CopiedTable{"audit_chain",
                      "seq",
                      {{"seq", "::bigint"},
                       {"action_id", "::bigint"},
                       {"event", ""},
                       {"digest", ""},
                       {"prev_hash", ""},
                       {"hash", ""}}};
  return *table;
}

const CopiedTable& Checkpoints() {
  static const CopiedTable* const table =
      new CopiedTable{"audit_checkpoints",
                      "number",
                      {{"number", "::bigint"},
                       {"first_seq", "::bigint"},
                       {"last_seq", "::bigint"},
                       {"head_hash", ""},
                       {"previous_signature", ""},
                       {"signed_at_ms", "::bigint"},
                       {"key_id", ""},
                       {"signature", ""}}};
  return *table;
}

// Copies `table` from `from` into `to` (in its open transaction), each
// value as SQLite holds it (NULL stays NULL); returns how many rows.
absl::StatusOr<int64_t> CopyTable(sqlite3* from, PgConnection& to,
                                  const CopiedTable& table) {
  std::vector<std::string> names;
  for (const auto& [name, cast] : table.columns) names.push_back(name);
  Statement rows(from,
                 absl::StrCat("SELECT ", absl::StrJoin(names, ", "), " FROM ",
                              table.name, " ORDER BY ", table.order_by));
  RETURN_IF_ERROR(rows.status());
  const size_t width = names.size();
  const size_t per_statement = 60000 / width;
  int64_t copied = 0;
  std::vector<PgParam> params;
  std::vector<std::string> values;
  const auto flush = [&]() -> absl::Status {
    if (values.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(
        to.Exec(absl::StrCat("copying ", table.name),
                absl::StrCat("INSERT INTO ", table.name, " (",
                             absl::StrJoin(names, ", "), ") VALUES ",
                             absl::StrJoin(values, ", ")),
                params));
    params.clear();
    values.clear();
    return absl::OkStatus();
  };
  int rc;
  while ((rc = rows.Step()) == SQLITE_ROW) {
    std::string row = "(";
    for (size_t i = 0; i < table.columns.size(); ++i) {
      params.push_back(rows.IsNull(static_cast<int>(i))
                           ? PgParam()
                           : PgParam(rows.Text(static_cast<int>(i))));
      absl::StrAppend(&row, i == 0 ? "" : ", ", "$", params.size(),
                      table.columns[i].second);
    }
    values.push_back(row + ")");
    ++copied;
    if (values.size() >= per_statement) RETURN_IF_ERROR(flush());
  }
  if (rc != SQLITE_DONE)
    return rows.Error(absl::StrCat("reading ", table.name));
  RETURN_IF_ERROR(flush());
  return copied;
}

}  // namespace

absl::StatusOr<MigratedLog> MigrateSqliteLogToPostgres(
    const std::string& sqlite_path, const std::string& conninfo) {
  ASSIGN_OR_RETURN(const int64_t version, ReadSchemaVersion(sqlite_path));
  if (version != kAuditSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        sqlite_path, " has schema version ", version, ", not ",
        kAuditSchemaVersion,
        ": upgrade a copy first (opsctl audit verify --database COPY "
        "--upgrade) and migrate that"));
  }
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open_v2(
      sqlite_path.c_str(), &raw,
      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
      nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> from(raw, sqlite3_close_v2);
  if (opened != SQLITE_OK) {
    return absl::UnavailableError(absl::StrCat(
        sqlite_path, " cannot be opened: ", raw ? sqlite3_errmsg(raw) : "?"));
  }
  sqlite3_busy_timeout(raw, kAuditBusyTimeoutMs);
  RETURN_IF_ERROR(ExecSql(raw, "BEGIN", sqlite_path));  // one snapshot
  ASSIGN_OR_RETURN(const int64_t chain_start, ChainStartOf(raw));
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> to,
                   PgConnection::Connect(conninfo, "migrating the audit log"));
  MigratedLog copied;
  absl::Status status = [&]() -> absl::Status {
    RETURN_IF_ERROR(to->ExecScript("starting", "BEGIN"));
    ASSIGN_OR_RETURN(const PgResult head,
                     to->Query("locking the chain's head",
                               "SELECT seq, action_id FROM audit_head FOR "
                               "UPDATE"));
    ASSIGN_OR_RETURN(const PgResult rows,
                     to->Query("counting rows",
                               "SELECT (SELECT count(*) FROM actions) + "
                               "(SELECT count(*) FROM audit_chain)"));
    if (head.rows() != 1 || head.row(0).Int(0) != 0 ||
        rows.row(0).Int(0) != 0) {
      return absl::FailedPreconditionError(
          "the PostgreSQL log already holds rows: a migration goes into an "
          "empty one only (a new database, its tables made by opsctld)");
    }
    // Rows keep no controller (their chain events were made without one):
    // any controller settles those left pending, at its next start.
    ASSIGN_OR_RETURN(copied.rows, CopyTable(raw, *to, Actions()));
    ASSIGN_OR_RETURN(copied.events, CopyTable(raw, *to, Chain()));
    ASSIGN_OR_RETURN(copied.checkpoints, CopyTable(raw, *to, Checkpoints()));
    RETURN_IF_ERROR(
        to->Exec("copying where the chain starts",
                 "UPDATE audit_meta SET value = $1 WHERE key = 'chain_start'",
                 {PgInt(chain_start)}));
    // The head: the last event, the last row id (a log of rows from before
    // the chain alone has no event: its start stays the genesis).
    RETURN_IF_ERROR(to->Exec(
        "moving the chain's head",
        "UPDATE audit_head SET seq = coalesce((SELECT max(seq) FROM "
        "audit_chain), 0), action_id = coalesce((SELECT max(id) FROM "
        "actions), 0), hash = coalesce((SELECT hash FROM audit_chain ORDER BY "
        "seq DESC LIMIT 1), hash)"));
    if (chain_start != 0) {
      // The genesis binds the chain's start: the head of an empty chain
      // must be that of the copied start.
      RETURN_IF_ERROR(to->Exec("moving the chain's head",
                               "UPDATE audit_head SET hash = $1 WHERE seq = 0",
                               {GenesisHash(chain_start)}));
    }
    return to->ExecScript("committing", "COMMIT");
  }();
  if (!status.ok()) {
    to->ExecScript("rolling back", "ROLLBACK").IgnoreError();
    return status;
  }
  return copied;
}

}  // namespace opsagent
