#include "controller/audit/audit_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/trusted_path.h"
#include "controller/audit/audit_chain.h"

namespace opsagent {
namespace {

constexpr int kSchemaVersion = 4;
// Writers wait this long for one another (several operators' opsctl on one
// log, a loaded machine) before a write is refused.
constexpr int kBusyTimeoutMs = 30000;

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
  result_json    TEXT    NOT NULL DEFAULT ''
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

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    status_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }

  absl::Status status() const {
    if (status_ == SQLITE_OK) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(
        "audit log: preparing a statement: ", sqlite3_errstr(status_), " (",
        sqlite3_errmsg(db_), ")"));
  }
  void Bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
  }
  void Bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  // Ready to be bound and stepped again.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  absl::Status Error(absl::string_view doing) const {
    return absl::UnavailableError(
        absl::StrCat("audit log: ", doing, ": ", sqlite3_errmsg(db_)));
  }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text ? std::string(reinterpret_cast<const char*>(text),
                              sqlite3_column_bytes(stmt_, column))
                : "";
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int status_;
};

// SQLite reports a full disk as "disk I/O error" or "database or disk is
// full"; say plainly what on-call needs to fix.
absl::Status WithSpaceHint(absl::Status status, const std::string& path) {
  if (status.ok()) return status;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos
                              ? "."
                              : (slash == 0 ? "/" : path.substr(0, slash));
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) == 0 &&
      vfs.f_bavail * vfs.f_frsize < (64u << 10)) {
    return absl::Status(
        status.code(),
        absl::StrCat(status.message(), "; the filesystem holding it is full (",
                     dir, ")"));
  }
  return status;
}

absl::Status MakeParentDirectory(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return absl::OkStatus();
  std::string dir = path.substr(0, slash);
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string prefix = dir.substr(0, i);
      if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
        return absl::UnavailableError(
            absl::StrCat("audit log: cannot create directory ", prefix, ": ",
                         std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

// The log is only as good as its file: nobody but root and this user may
// change the directory it is in (or the path to it), it is not a symbolic
// link, nobody else may write it, and a new one is created readable by its
// owner only (SQLite gives its -wal and -shm files the same mode).
absl::Status CheckLogFile(const std::string& path) {
  const std::string absolute = std::filesystem::absolute(path).string();
  const std::string dir = absolute.substr(0, absolute.rfind('/'));
  if (absl::Status trusted =
          CheckTrustedPath(dir.empty() ? "/" : dir, TrustedKind::kDirectory);
      !trusted.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit log ", path, ": ", trusted.message()));
  }
  struct stat st;
  if (lstat(absolute.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::UnavailableError(
          absl::StrCat("audit log ", path, ": ", std::strerror(errno)));
    }
    const int fd =
        open(absolute.c_str(),
             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
      return absl::UnavailableError(absl::StrCat(
          "audit log ", path, " cannot be created: ", std::strerror(errno)));
    }
    if (fd >= 0) close(fd);
    return absl::OkStatus();
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit log ", path, " is not a regular file (a symbolic link?)"));
  }
  if (absl::Status trusted = CheckTrustedPath(absolute, TrustedKind::kFile);
      !trusted.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit log ", path, ": ", trusted.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditStore>> AuditStore::Open(
    const std::string& path) {
  if (absl::Status status = MakeParentDirectory(path); !status.ok())
    return status;
  if (absl::Status status = CheckLogFile(path); !status.ok()) return status;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
                           nullptr);
  std::unique_ptr<AuditStore> store(new AuditStore(db, path));
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(absl::StrCat(
        "audit log ", path,
        " cannot be opened: ", db ? sqlite3_errmsg(db) : "out of memory"));
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 1);
  // Several opsctl processes may open a new database at once. SQLite can
  // answer BUSY for the switch to WAL or the schema set-up without waiting
  // on its busy handler, so those steps are retried until the busy timeout.
  const absl::Time deadline = absl::Now() + absl::Milliseconds(kBusyTimeoutMs);
  for (;;) {
    absl::Status status = store->Initialize(path);
    if (status.ok()) break;
    const int code = sqlite3_errcode(db) & 0xff;
    if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
        absl::Now() >= deadline) {
      return WithSpaceHint(status, path);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return store;
}

absl::Status AuditStore::Initialize(const std::string& path) {
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON"}) {
    if (absl::Status status = Exec(pragma); !status.ok()) return status;
  }
  int64_t current;
  {  // finished before any write transaction starts
    Statement version(db_, "PRAGMA user_version");
    if (!version.status().ok() || version.Step() != SQLITE_ROW)
      return version.Error("reading the schema version");
    current = version.Int(0);
  }
  if (current > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit log ", path, " has schema version ", current,
                     ", newer than this opsctl understands (", kSchemaVersion,
                     "); upgrade opsctl"));
  }
  if (current < kSchemaVersion) {
    if (absl::Status status = Exec("BEGIN IMMEDIATE"); !status.ok())
      return status;
    absl::Status status = Exec(kSchema);
    if (status.ok() && current > 0 && current < 3)
      status = Exec(kAddUserColumns);
    if (status.ok() && current > 0 && current < 4)
      status = Exec(kAddResultColumn);
    if (status.ok())
      status =
          Exec(absl::StrCat("PRAGMA user_version=", kSchemaVersion).c_str());
    if (!status.ok()) {
      Exec("ROLLBACK").IgnoreError();
      return status;
    }
    if (absl::Status commit = Exec("COMMIT"); !commit.ok()) return commit;
  }
  return absl::OkStatus();
}

AuditStore::~AuditStore() { sqlite3_close_v2(db_); }

absl::Status AuditStore::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(absl::StrCat(
        "audit log ", path_, ": ", error ? error : sqlite3_errmsg(db_)));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> AuditStore::RecordIntent(const AuditIntent& intent) {
  absl::StatusOr<std::vector<int64_t>> ids = Commit({intent}, {});
  if (!ids.ok()) return ids.status();
  return ids->front();
}

absl::Status AuditStore::RecordResult(int64_t id, const AuditResult& result) {
  return Commit({}, {{id, result}}).status();
}

// One transaction's writes: the statements are prepared once, and the
// chain's head is read once and then carried, so that a fan-out's thousand
// rows cost a thousand inserts, not a thousand of each lookup.
class AuditStore::Batch {
 public:
  explicit Batch(AuditStore* store)
      : store_(store),
        insert_(store->db_, R"sql(
      INSERT INTO actions (request_id, run_id, started_at_ms, os_user, cert_identity, host, address,
                           operation, parameters, reason, incident, dry_run, mutating,
                           os_uid, sudo_user)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15))sql"),
        update_(store->db_, R"sql(
      UPDATE actions SET outcome = ?2, finished_at_ms = ?3, duration_ms = ?3 - started_at_ms,
                         error_code = ?4, message = ?5, result_summary = ?6, result_json = ?7
      WHERE id = ?1 AND outcome = 'pending')sql"),
        append_(store->db_,
                "INSERT INTO audit_chain (action_id, event, digest, "
                "prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5)") {}

  absl::Status Start() {
    for (const Statement* statement : {&insert_, &update_, &append_}) {
      if (absl::Status status = statement->status(); !status.ok())
        return status;
    }
    Statement last(store_->db_,
                   "SELECT hash FROM audit_chain ORDER BY seq DESC LIMIT 1");
    if (!last.status().ok()) return last.status();
    const int rc = last.Step();
    if (rc == SQLITE_ROW) {
      head_ = last.Text(0);
      return absl::OkStatus();
    }
    if (rc != SQLITE_DONE) return last.Error("reading the chain");
    absl::StatusOr<int64_t> start = store_->ChainStart();
    if (!start.ok()) return start.status();
    head_ = GenesisHash(*start);
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Insert(const AuditIntent& intent) {
    insert_.Reset();
    insert_.Bind(1, intent.request_id);
    insert_.Bind(2, intent.run_id);
    insert_.Bind(3, intent.started_at_ms);
    insert_.Bind(4, intent.os_user);
    insert_.Bind(5, intent.cert_identity);
    insert_.Bind(6, intent.host);
    insert_.Bind(7, intent.address);
    insert_.Bind(8, intent.operation);
    insert_.Bind(9, intent.parameters_json);
    insert_.Bind(10, intent.reason);
    insert_.Bind(11, intent.incident);
    insert_.Bind(12, int64_t{intent.dry_run});
    insert_.Bind(13, int64_t{intent.mutating});
    if (intent.os_uid >= 0) insert_.Bind(14, intent.os_uid);
    insert_.Bind(15, intent.sudo_user);
    if (insert_.Step() != SQLITE_DONE)
      return insert_.Error("recording the intent");
    const int64_t id = sqlite3_last_insert_rowid(store_->db_);
    if (absl::Status chained = Chain(id, "intent", CanonicalIntent(id, intent));
        !chained.ok())
      return chained;
    return id;
  }

  absl::Status Complete(int64_t id, const AuditResult& result) {
    update_.Reset();
    update_.Bind(1, id);
    update_.Bind(2, std::string(AuditOutcomeName(result.outcome)));
    update_.Bind(3, result.finished_at_ms);
    update_.Bind(4, result.error_code);
    update_.Bind(5, result.message);
    update_.Bind(6, result.summary);
    update_.Bind(7, result.result_json);
    if (update_.Step() != SQLITE_DONE)
      return update_.Error("recording the outcome");
    if (sqlite3_changes(store_->db_) != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "audit log: row ", id, " is missing or already has an outcome"));
    }
    return Chain(id, "outcome", CanonicalOutcome(id, result));
  }

 private:
  // Appends a chain event covering `canonical` for row `id`.
  absl::Status Chain(int64_t id, const char* event,
                     const std::string& canonical) {
    const std::string digest = Sha256Hex(canonical);
    std::string hash = ChainHash(head_, digest);
    append_.Reset();
    append_.Bind(1, id);
    append_.Bind(2, std::string(event));
    append_.Bind(3, digest);
    append_.Bind(4, head_);
    append_.Bind(5, hash);
    if (append_.Step() != SQLITE_DONE)
      return append_.Error("extending the chain");
    head_ = std::move(hash);
    return absl::OkStatus();
  }

  AuditStore* const store_;
  Statement insert_;
  Statement update_;
  Statement append_;
  std::string head_;
};

absl::StatusOr<std::vector<int64_t>> AuditStore::Commit(
    const std::vector<AuditIntent>& intents,
    const std::vector<std::pair<int64_t, AuditResult>>& results) {
  std::vector<int64_t> ids;
  // The rows and their chain events commit together; with
  // synchronous=FULL they are on disk when this returns.
  absl::MutexLock lock(&write_mutex_);
  absl::Status status =
      InTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_) {
        Batch batch(this);
        if (absl::Status started = batch.Start(); !started.ok()) return started;
        for (const auto& [id, result] : results) {
          if (absl::Status completed = batch.Complete(id, result);
              !completed.ok())
            return completed;
        }
        for (const AuditIntent& intent : intents) {
          absl::StatusOr<int64_t> id = batch.Insert(intent);
          if (!id.ok()) return id.status();
          ids.push_back(*id);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return WithSpaceHint(status, path_);
  return ids;
}

absl::Status AuditStore::InTransaction(
    const std::function<absl::Status()>& body) {
  if (absl::Status status = Exec("BEGIN IMMEDIATE"); !status.ok())
    return status;
  absl::Status status = body();
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) Exec("ROLLBACK").IgnoreError();
  return status;
}

absl::StatusOr<AuditRecord> AuditStore::LoadRecord(int64_t id) {
  AuditFilter filter;
  filter.id = id;
  absl::StatusOr<std::vector<AuditRecord>> rows = Query(filter);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError(absl::StrCat("row ", id));
  return rows->front();
}

absl::StatusOr<int64_t> AuditStore::ChainStart() {
  Statement meta(db_,
                 "SELECT CAST(value AS INTEGER) FROM audit_meta WHERE key = "
                 "'chain_start'");
  if (!meta.status().ok()) return meta.status();
  return meta.Step() == SQLITE_ROW ? meta.Int(0) : 0;
}

absl::StatusOr<std::string> AuditStore::Verify(const VerifyOptions& options) {
  absl::StatusOr<int64_t> start = ChainStart();
  if (!start.ok()) return start.status();
  const int64_t chain_start = *start;
  if (chain_start != options.accept_unchained) {
    return absl::DataLossError(absl::StrCat(
        "rows 1 to ", chain_start,
        " are not covered by the hash chain (audit_meta.chain_start = ",
        chain_start,
        "). That is right only for rows written before the chain existed "
        "(schema 1); if you know this log was upgraded with exactly that "
        "many rows, verify with --accept-unchained ",
        chain_start, ". Otherwise the chain was cut and rows up to ",
        chain_start, " may have been edited"));
  }
  Statement chain(db_,
                  "SELECT seq, action_id, event, digest, prev_hash, hash FROM "
                  "audit_chain ORDER BY seq");
  if (!chain.status().ok()) return chain.status();
  std::string previous = GenesisHash(chain_start);
  int64_t events = 0;
  int64_t pinned_at = -1;
  std::map<int64_t, int>
      seen;  // action id -> events seen (1 intent, 2 with outcome)
  int rc;
  while ((rc = chain.Step()) == SQLITE_ROW) {
    const int64_t seq = chain.Int(0), id = chain.Int(1);
    const std::string event = chain.Text(2), digest = chain.Text(3),
                      prev_hash = chain.Text(4), hash = chain.Text(5);
    if (prev_hash != previous) {
      return absl::DataLossError(absl::StrCat(
          "chain event ", seq, " (row ", id, " ", event, ") does not follow ",
          events == 0 ? "the start of the chain: the start was moved or the "
                        "first events deleted"
                      : "the one before it: events were deleted or reordered"));
    }
    if (hash != ChainHash(prev_hash, digest)) {
      return absl::DataLossError(absl::StrCat("chain event ", seq, " (row ", id,
                                              " ", event, ") was altered"));
    }
    absl::StatusOr<AuditRecord> record = LoadRecord(id);
    if (!record.ok()) {
      return absl::DataLossError(absl::StrCat("row ", id, " was deleted (its ",
                                              event, " is in the chain)"));
    }
    std::string canonical;
    if (event == "intent") {
      canonical = CanonicalIntent(id, record->intent);
    } else if (record->result.has_value()) {
      canonical = CanonicalOutcome(id, *record->result);
    }
    if (Sha256Hex(canonical) != digest) {
      return absl::DataLossError(
          absl::StrCat("row ", id, " was edited: its ", event,
                       " no longer matches what was recorded"));
    }
    ++seen[id];
    previous = hash;
    ++events;
    if (hash == options.expect_head) pinned_at = seq;
  }
  if (rc != SQLITE_DONE) return chain.Error("reading the chain");
  // Rows the chain does not know: inserted or completed behind opsctl's back.
  Statement rows(db_,
                 "SELECT id, outcome FROM actions WHERE id > ?1 ORDER BY id");
  if (!rows.status().ok()) return rows.status();
  rows.Bind(1, chain_start);
  while ((rc = rows.Step()) == SQLITE_ROW) {
    const int64_t id = rows.Int(0);
    const int expected = rows.Text(1) == "pending" ? 1 : 2;
    if (seen[id] != expected) {
      return absl::DataLossError(absl::StrCat(
          "row ", id, " was ", seen[id] == 0 ? "inserted" : "changed",
          " outside opsctl: the chain has ", seen[id], " of its ", expected,
          " events"));
    }
  }
  if (rc != SQLITE_DONE) return rows.Error("reading the rows");
  if (!options.expect_head.empty() && pinned_at < 0) {
    return absl::DataLossError(absl::StrCat(
        "the pinned head ", options.expect_head,
        " is not in the chain: events up to it were deleted or rewritten "
        "(the chain now ends at ",
        previous, " after ", events, " events)"));
  }
  return absl::StrCat(
      events, " events verified",
      chain_start > 0 ? absl::StrCat(" (rows after ", chain_start, ")") : "",
      pinned_at >= 0 ? absl::StrCat("; the pinned head is event ", pinned_at,
                                    ", ", events - pinned_at, " event(s) since")
                     : "",
      "; head ", previous,
      options.expect_head.empty()
          ? " (keep it elsewhere and verify with --expect-head to detect "
            "rows deleted from the end)"
          : "");
}

absl::StatusOr<std::vector<AuditRecord>> AuditStore::Query(
    const AuditFilter& filter) {
  std::string where = "1=1";
  if (filter.since_ms) absl::StrAppend(&where, " AND started_at_ms >= ?1");
  if (filter.until_ms) absl::StrAppend(&where, " AND started_at_ms < ?2");
  if (!filter.host.empty()) absl::StrAppend(&where, " AND host = ?3");
  if (!filter.operator_name.empty())
    absl::StrAppend(&where,
                    " AND (os_user = ?4 OR cert_identity = ?4 OR "
                    "sudo_user = ?4)");
  if (!filter.operation.empty()) absl::StrAppend(&where, " AND operation = ?5");
  if (filter.outcome) absl::StrAppend(&where, " AND outcome = ?6");
  // The literal != '' lets SQLite use the partial indexes on incident and
  // run id (it cannot prove it of a bound parameter): a lookup instead of a
  // scan of the whole log.
  if (!filter.incident.empty())
    absl::StrAppend(&where, " AND incident = ?7 AND incident != ''");
  if (!filter.run_id.empty())
    absl::StrAppend(&where, " AND run_id = ?8 AND run_id != ''");
  if (filter.id) absl::StrAppend(&where, " AND id = ?10");
  Statement select(
      db_,
      absl::StrCat("SELECT * FROM (SELECT id, request_id, run_id, "
                   "started_at_ms, os_user, cert_identity, host, "
                   "address, operation, parameters, reason, incident, dry_run, "
                   "mutating, outcome, finished_at_ms, "
                   "error_code, message, result_summary, os_uid, sudo_user, "
                   "result_json FROM actions WHERE ",
                   where,
                   " ORDER BY started_at_ms DESC, id DESC LIMIT ?9) ORDER BY "
                   "started_at_ms, id"));
  if (!select.status().ok()) return select.status();
  if (filter.since_ms) select.Bind(1, *filter.since_ms);
  if (filter.until_ms) select.Bind(2, *filter.until_ms);
  select.Bind(3, filter.host);
  select.Bind(4, filter.operator_name);
  select.Bind(5, filter.operation);
  if (filter.outcome)
    select.Bind(6, std::string(AuditOutcomeName(*filter.outcome)));
  select.Bind(7, filter.incident);
  select.Bind(8, filter.run_id);
  select.Bind(9, int64_t{filter.limit});
  if (filter.id) select.Bind(10, *filter.id);

  std::vector<AuditRecord> records;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    AuditRecord record;
    record.id = select.Int(0);
    AuditIntent& intent = record.intent;
    intent.request_id = select.Text(1);
    intent.run_id = select.Text(2);
    intent.started_at_ms = select.Int(3);
    intent.os_user = select.Text(4);
    intent.cert_identity = select.Text(5);
    intent.host = select.Text(6);
    intent.address = select.Text(7);
    intent.operation = select.Text(8);
    intent.parameters_json = select.Text(9);
    intent.reason = select.Text(10);
    intent.incident = select.Text(11);
    intent.dry_run = select.Int(12) != 0;
    intent.mutating = select.Int(13) != 0;
    intent.os_uid = select.IsNull(19) ? -1 : select.Int(19);
    intent.sudo_user = select.Text(20);
    record.outcome =
        ParseAuditOutcome(select.Text(14)).value_or(AuditOutcome::kUnknown);
    if (!select.IsNull(15)) {
      record.result =
          AuditResult{record.outcome,  select.Int(15),  select.Text(16),
                      select.Text(17), select.Text(18), select.Text(21)};
    }
    records.push_back(std::move(record));
  }
  if (rc != SQLITE_DONE) return select.Error("querying");
  return records;
}

}  // namespace opsagent
