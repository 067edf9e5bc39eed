#include "controller/audit/audit_schema.h"

#include <sys/stat.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/sqlite_statement.h"

namespace opsagent {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS actions (
  id             INTEGER PRIMARY KEY,
  request_id     TEXT    NOT NULL UNIQUE,
  run_id         TEXT    NOT NULL DEFAULT '',
  started_at_ms  INTEGER NOT NULL,
  finished_at_ms INTEGER,
  duration_ms    INTEGER,
  os_user        TEXT    NOT NULL,
  os_uid         INTEGER,
  sudo_user      TEXT    NOT NULL DEFAULT '',
  cert_identity  TEXT    NOT NULL,
  host           TEXT    NOT NULL,
  address        TEXT    NOT NULL,
  operation      TEXT    NOT NULL,
  parameters     TEXT    NOT NULL DEFAULT '{}',
  reason         TEXT    NOT NULL DEFAULT '',
  incident       TEXT    NOT NULL DEFAULT '',
  dry_run        INTEGER NOT NULL DEFAULT 0,
  mutating       INTEGER NOT NULL DEFAULT 0,
  outcome        TEXT    NOT NULL DEFAULT 'pending'
                 CHECK (outcome IN ('pending','ok','error','denied','unreachable','unknown')),
  error_code     TEXT    NOT NULL DEFAULT '',
  message        TEXT    NOT NULL DEFAULT '',
  result_summary TEXT    NOT NULL DEFAULT '',
  result_json    TEXT    NOT NULL DEFAULT '',
  agent_result_sha256 TEXT NOT NULL DEFAULT '',
  agent_signature     TEXT NOT NULL DEFAULT '',
  ticket              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS actions_by_time      ON actions (started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_host      ON actions (host, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_user      ON actions (os_user, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_identity  ON actions (cert_identity, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_operation ON actions (operation, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_outcome   ON actions (outcome, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_incident  ON actions (incident, started_at_ms) WHERE incident != '';
CREATE INDEX IF NOT EXISTS actions_by_run       ON actions (run_id, started_at_ms) WHERE run_id != '';
-- Schema 2: the hash chain (see audit_chain.h) and its start.
CREATE TABLE IF NOT EXISTS audit_chain (
  seq       INTEGER PRIMARY KEY,
  action_id INTEGER NOT NULL,
  event     TEXT    NOT NULL CHECK (event IN ('intent', 'outcome')),
  digest    TEXT    NOT NULL,
  prev_hash TEXT    NOT NULL,
  hash      TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO audit_meta VALUES ('chain_start', (SELECT coalesce(max(id), 0) FROM actions));
-- Schema 5: the controller's signed checkpoints (see audit_checkpoint.h).
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  number             INTEGER PRIMARY KEY,
  first_seq          INTEGER NOT NULL,
  last_seq           INTEGER NOT NULL,
  head_hash          TEXT    NOT NULL,
  previous_signature TEXT    NOT NULL,
  signed_at_ms       INTEGER NOT NULL,
  key_id             TEXT    NOT NULL,
  signature          TEXT    NOT NULL
);
)sql";

// Schema 3 (from 1 or 2): the real uid, and SUDO_USER kept apart as a claim.
constexpr char kAddUserColumns[] = R"sql(
ALTER TABLE actions ADD COLUMN os_uid INTEGER;
ALTER TABLE actions ADD COLUMN sudo_user TEXT NOT NULL DEFAULT '';
)sql";

// Schema 4 (from 1 to 3): the structured result, a failure's included.
constexpr char kAddResultColumn[] = R"sql(
ALTER TABLE actions ADD COLUMN result_json TEXT NOT NULL DEFAULT '';
)sql";

// Schema 6 (from 1 to 5): what the agent signed over its answer.
constexpr char kAddSignatureColumns[] = R"sql(
ALTER TABLE actions ADD COLUMN agent_result_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN agent_signature TEXT NOT NULL DEFAULT '';
)sql";

// Schema 7 (from 1 to 6): an outside reference, apart from the incident.
constexpr char kAddTicketColumn[] = R"sql(
ALTER TABLE actions ADD COLUMN ticket TEXT NOT NULL DEFAULT '';
)sql";
// Made once the column is there, in a new log as in an upgraded one.
constexpr char kTicketIndex[] =
    "CREATE INDEX IF NOT EXISTS actions_by_ticket ON actions (ticket, "
    "started_at_ms) WHERE ticket != ''";

}  // namespace

absl::Status CreateOrUpgradeSchema(sqlite3* db, const std::string& path) {
  const std::string what = absl::StrCat("audit log ", path);
  const auto exec = [&](const char* sql) { return ExecSql(db, sql, what); };
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON"}) {
    if (absl::Status status = exec(pragma); !status.ok()) return status;
  }
  // Read again once the write lock is held: another process opening the
  // same log may have upgraded it meanwhile (ALTER TABLE is not idempotent).
  const auto read_version = [&]() -> absl::StatusOr<int64_t> {
    Statement read(db, "PRAGMA user_version");
    if (!read.status().ok() || read.Step() != SQLITE_ROW)
      return read.Error("reading the schema version");
    return read.Int(0);
  };
  const auto newer = [&](int64_t found) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit log ", path, " has schema version ", found,
                     ", newer than this opsctl understands (",
                     kAuditSchemaVersion, "); upgrade opsctl"));
  };
  absl::StatusOr<int64_t> seen = read_version();
  if (!seen.ok()) return seen.status();
  if (*seen > kAuditSchemaVersion) return newer(*seen);
  if (*seen == kAuditSchemaVersion) return absl::OkStatus();
  if (absl::Status status = exec("BEGIN IMMEDIATE"); !status.ok())
    return status;
  absl::StatusOr<int64_t> locked = read_version();
  if (!locked.ok() || *locked >= kAuditSchemaVersion) {
    exec("ROLLBACK").IgnoreError();
    if (!locked.ok()) return locked.status();
    return *locked > kAuditSchemaVersion ? newer(*locked) : absl::OkStatus();
  }
  const int64_t current = *locked;
  absl::Status status = exec(kSchema);
  // Each step adds what its version added, to logs older than it.
  for (const auto& [version, step] : {std::pair{3, kAddUserColumns},
                                      {4, kAddResultColumn},
                                      {6, kAddSignatureColumns},
                                      {7, kAddTicketColumn}}) {
    if (status.ok() && current > 0 && current < version) status = exec(step);
  }
  if (status.ok()) status = exec(kTicketIndex);
  if (status.ok()) {
    status =
        exec(absl::StrCat("PRAGMA user_version=", kAuditSchemaVersion).c_str());
  }
  if (!status.ok()) {
    exec("ROLLBACK").IgnoreError();
    return status;
  }
  return exec("COMMIT");
}

absl::StatusOr<int64_t> ReadSchemaVersion(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(
        absl::StrCat("no audit log at ", path, " (nothing was created)"));
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> closer(db, sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " cannot be read as an audit log: ",
                     db ? sqlite3_errmsg(db) : "out of memory"));
  }
  Statement version(db, "PRAGMA user_version");
  if (!version.status().ok() || version.Step() != SQLITE_ROW) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " cannot be read as an audit log: ", sqlite3_errmsg(db)));
  }
  return version.Int(0);
}

absl::StatusOr<int64_t> ChainStartOf(sqlite3* db) {
  Statement meta(db,
                 "SELECT CAST(value AS INTEGER) FROM audit_meta WHERE key = "
                 "'chain_start'");
  if (!meta.status().ok()) return meta.status();
  return meta.Step() == SQLITE_ROW ? meta.Int(0) : 0;
}

const std::vector<AuditIndex>& AuditIndexes() {
  static const auto* const kIndexes = new std::vector<AuditIndex>{
      {"actions_by_time", "started_at_ms IS NOT NULL"},
      {"actions_by_host", "host IS NOT NULL"},
      {"actions_by_user", "os_user IS NOT NULL"},
      {"actions_by_identity", "cert_identity IS NOT NULL"},
      {"actions_by_operation", "operation IS NOT NULL"},
      {"actions_by_outcome", "outcome IS NOT NULL"},
      {"actions_by_incident", "incident != ''"},
      {"actions_by_run", "run_id != ''"},
      {"actions_by_ticket", "ticket != ''"},
  };
  return *kIndexes;
}

const std::vector<AuditColumn>& AuditColumns() {
  static const auto* const kColumns = new std::vector<AuditColumn>{
      {"id", "integer"},
      {"request_id", "text"},
      {"run_id", "text"},
      {"started_at_ms", "integer"},
      {"finished_at_ms", "integer", true},
      {"duration_ms", "integer", true},
      {"os_user", "text"},
      {"os_uid", "integer", true},
      {"sudo_user", "text"},
      {"cert_identity", "text"},
      {"host", "text"},
      {"address", "text"},
      {"operation", "text"},
      {"parameters", "text"},
      {"reason", "text"},
      {"incident", "text"},
      {"dry_run", "integer"},
      {"mutating", "integer"},
      {"outcome", "text"},
      {"error_code", "text"},
      {"message", "text"},
      {"result_summary", "text"},
      {"result_json", "text"},
      {"agent_result_sha256", "text"},
      {"agent_signature", "text"},
      {"ticket", "text"},
  };
  return *kColumns;
}

}  // namespace opsagent
