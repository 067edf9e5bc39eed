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
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/trusted_path.h"
#include "controller/audit/audit_chain.h"
#include "controller/audit/sqlite_statement.h"

namespace opsagent {
namespace {

constexpr int kSchemaVersion = 7;
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

// The columns a record is read from, in the order ReadRecord expects, of
// the table `actions` as `a`.
constexpr char kRecordColumns[] =
    "a.id, a.request_id, a.run_id, a.started_at_ms, a.os_user, "
    "a.cert_identity, a.host, a.address, a.operation, a.parameters, "
    "a.reason, a.incident, a.dry_run, a.mutating, a.outcome, "
    "a.finished_at_ms, a.error_code, a.message, a.result_summary, a.os_uid, "
    "a.sudo_user, a.result_json, a.agent_result_sha256, a.agent_signature, "
    "a.ticket";

// A chain event and its row (joined), from `?1` on, in order.
constexpr char kEventQuery[] =
    "SELECT c.seq, c.action_id, c.event, c.digest, c.prev_hash, c.hash, "
    "a.id IS NOT NULL, %s FROM audit_chain c LEFT JOIN actions a ON a.id = "
    "c.action_id WHERE c.seq > ?1 ORDER BY c.seq LIMIT ?2";
constexpr int kEventColumnCount = 7;

// How far an unsigned event's time may stray from when it could have been
// recorded (a group commit's wait, clocks).
constexpr int64_t kDatingSlackMs = 60 * 1000;

constexpr char kCheckpointColumns[] =
    "number, first_seq, last_seq, head_hash, previous_signature, "
    "signed_at_ms, key_id, signature";

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

// audit_meta.chain_start: rows up to it predate the chain.
absl::StatusOr<int64_t> ChainStartOf(sqlite3* db) {
  Statement meta(db,
                 "SELECT CAST(value AS INTEGER) FROM audit_meta WHERE key = "
                 "'chain_start'");
  if (!meta.status().ok()) return meta.status();
  return meta.Step() == SQLITE_ROW ? meta.Int(0) : 0;
}

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
    if (status.ok() && current > 0 && current < 6)
      status = Exec(kAddSignatureColumns);
    if (status.ok() && current > 0 && current < 7)
      status = Exec(kAddTicketColumn);
    if (status.ok()) status = Exec(kTicketIndex);
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
                           os_uid, sudo_user, ticket)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16))sql"),
        update_(store->db_, R"sql(
      UPDATE actions SET outcome = ?2, finished_at_ms = ?3, duration_ms = ?3 - started_at_ms,
                         error_code = ?4, message = ?5, result_summary = ?6, result_json = ?7,
                         agent_result_sha256 = ?8, agent_signature = ?9
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
    insert_.Bind(16, intent.ticket);
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
    update_.Bind(8, result.agent_result_sha256);
    update_.Bind(9, result.agent_signature);
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

absl::StatusOr<int64_t> AuditStore::ChainStart() { return ChainStartOf(db_); }

namespace {

std::string FormatTime(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

// Which parts of a row to read: verification reads only what the event it
// checks covers (half the columns, a tenth less time on a million rows).
enum RecordParts { kIntentPart = 1, kOutcomePart = 2, kWholeRecord = 3 };

// The record whose columns (kRecordColumns) start at `first`.
AuditRecord ReadRecord(const Statement& row, int first,
                       int parts = kWholeRecord) {
  auto text = [&](int i) { return row.Text(first + i); };
  auto number = [&](int i) { return row.Int(first + i); };
  AuditRecord record;
  record.id = number(0);
  record.outcome = ParseAuditOutcome(text(14)).value_or(AuditOutcome::kUnknown);
  if (parts & kIntentPart) {
    AuditIntent& intent = record.intent;
    intent.request_id = text(1);
    intent.run_id = text(2);
    intent.started_at_ms = number(3);
    intent.os_user = text(4);
    intent.cert_identity = text(5);
    intent.host = text(6);
    intent.address = text(7);
    intent.operation = text(8);
    intent.parameters_json = text(9);
    intent.reason = text(10);
    intent.incident = text(11);
    intent.dry_run = number(12) != 0;
    intent.mutating = number(13) != 0;
    intent.os_uid = row.IsNull(first + 19) ? -1 : number(19);
    intent.sudo_user = text(20);
    intent.ticket = text(24);
  }
  if ((parts & kOutcomePart) && !row.IsNull(first + 15)) {
    record.result = AuditResult{record.outcome, number(15), text(16), text(17),
                                text(18),       text(21),   text(22), text(23)};
  }
  return record;
}

AuditCheckpoint ReadCheckpoint(const Statement& row) {
  AuditCheckpoint checkpoint;
  checkpoint.number = row.Int(0);
  checkpoint.first_seq = row.Int(1);
  checkpoint.last_seq = row.Int(2);
  checkpoint.head_hash = row.Text(3);
  checkpoint.previous_signature = row.Text(4);
  checkpoint.signed_at_ms = row.Int(5);
  checkpoint.key_id = row.Text(6);
  checkpoint.signature = row.Text(7);
  return checkpoint;
}

// One chain event and the row it is about (if the row is still there).
struct ChainEvent {
  int64_t seq = 0;
  int64_t action_id = 0;
  std::string event;
  std::string digest;
  std::string prev_hash;
  std::string hash;
  std::optional<AuditRecord> record;

  // When it was recorded, by its row.
  int64_t time_ms() const {
    if (!record) return 0;
    return event == "outcome" && record->result ? record->result->finished_at_ms
                                                : record->intent.started_at_ms;
  }
};

// With `whole_rows` false, only the part of the row the event covers.
ChainEvent ReadEvent(const Statement& row, bool whole_rows) {
  ChainEvent event{row.Int(0),  row.Int(1),  row.Text(2), row.Text(3),
                   row.Text(4), row.Text(5), std::nullopt};
  if (row.Int(6) != 0) {
    event.record = ReadRecord(
        row, kEventColumnCount,
        whole_rows ? kWholeRecord
                   : (event.event == "intent" ? kIntentPart : kOutcomePart));
  }
  return event;
}

// Checks one event against the hash before it and against its row: what
// verification and signing both rest on.
absl::Status CheckEvent(const ChainEvent& e, const std::string& previous,
                        bool first) {
  if (e.prev_hash != previous) {
    return absl::DataLossError(absl::StrCat(
        "chain event ", e.seq, " (row ", e.action_id, " ", e.event,
        ") does not follow ",
        first ? "the start of the chain: the start was moved or the first "
                "events deleted"
              : "the one before it: events were deleted or reordered"));
  }
  if (e.hash != ChainHash(e.prev_hash, e.digest)) {
    return absl::DataLossError(absl::StrCat("chain event ", e.seq, " (row ",
                                            e.action_id, " ", e.event,
                                            ") was altered"));
  }
  if (!e.record) {
    return absl::DataLossError(absl::StrCat("row ", e.action_id,
                                            " was deleted (its ", e.event,
                                            " is in the chain)"));
  }
  std::string canonical;
  if (e.event == "intent") {
    canonical = CanonicalIntent(e.action_id, e.record->intent);
  } else if (e.record->result.has_value()) {
    canonical = CanonicalOutcome(e.action_id, *e.record->result);
  }
  if (Sha256Hex(canonical) != e.digest) {
    return absl::DataLossError(
        absl::StrCat("row ", e.action_id, " was edited: its ", e.event,
                     " no longer matches what was recorded"));
  }
  return absl::OkStatus();
}

// Checks the checkpoints among themselves: numbered from 1 without a gap,
// each chained to the one before by its signature, covering the chain's
// events in order, and signed by `key`.
absl::Status CheckCheckpoints(const std::vector<AuditCheckpoint>& checkpoints,
                              const CheckpointVerifier& key) {
  const AuditCheckpoint* previous = nullptr;
  for (const AuditCheckpoint& c : checkpoints) {
    const int64_t expected = previous ? previous->number + 1 : 1;
    if (c.number != expected) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint", c.number - expected > 1 ? "s " : " ", expected,
          c.number - expected > 1 ? absl::StrCat(" to ", c.number - 1) : "",
          " deleted: the checkpoints jump from ",
          previous ? absl::StrCat(previous->number) : "the start", " to ",
          c.number));
    }
    if (c.previous_signature != (previous ? previous->signature : "")) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint ", c.number, " does not follow checkpoint ", expected - 1,
          " (it names another signature): replaced"));
    }
    const int64_t first = previous ? previous->last_seq + 1 : 1;
    if (c.first_seq != first || c.last_seq < c.first_seq) {
      return absl::DataLossError(
          absl::StrCat("checkpoint ", c.number, " covers events ", c.first_seq,
                       " to ", c.last_seq, ", not from ", first));
    }
    if (absl::Status signature = key.Check(c); !signature.ok())
      return signature;
    previous = &c;
  }
  return absl::OkStatus();
}

// Chain events counted per row: 1 intent, 2 with its outcome. Row ids are
// dense (SQLite gives each new row the highest id + 1), so a vector indexed
// by id serves a million rows in a few megabytes; ids spread further (rows
// inserted behind opsctl's back) go to a map.
class EventCounts {
 public:
  EventCounts(int64_t first_id, int64_t last_id) : first_(first_id) {
    if (last_id >= first_id && last_id - first_id < kMaxDense)
      dense_.resize(last_id - first_id + 1);
  }
  void Add(int64_t id) {
    const int64_t at = id - first_;
    if (at >= 0 && at < static_cast<int64_t>(dense_.size())) {
      if (dense_[at] < 255) ++dense_[at];
    } else {
      ++sparse_[id];
    }
  }
  int Count(int64_t id) const {
    const int64_t at = id - first_;
    if (at >= 0 && at < static_cast<int64_t>(dense_.size())) return dense_[at];
    const auto found = sparse_.find(id);
    return found == sparse_.end() ? 0 : found->second;
  }

 private:
  static constexpr int64_t kMaxDense = int64_t{64} << 20;
  const int64_t first_;
  std::vector<uint8_t> dense_;
  absl::flat_hash_map<int64_t, int> sparse_;
};

absl::StatusOr<std::vector<AuditCheckpoint>> CheckpointsOf(sqlite3* db,
                                                           int64_t after) {
  Statement select(db, absl::StrCat("SELECT ", kCheckpointColumns,
                                    " FROM audit_checkpoints WHERE number > "
                                    "?1 ORDER BY number"));
  if (!select.status().ok()) return select.status();
  select.Bind(1, after);
  std::vector<AuditCheckpoint> checkpoints;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW)
    checkpoints.push_back(ReadCheckpoint(select));
  if (rc != SQLITE_DONE) return select.Error("reading the checkpoints");
  return checkpoints;
}

}  // namespace

absl::StatusOr<std::vector<AuditCheckpoint>> AuditStore::Checkpoints(
    int64_t after) {
  return CheckpointsOf(db_, after);
}

absl::StatusOr<AuditStore::CheckpointState> AuditStore::GetCheckpointState() {
  CheckpointState state;
  Statement last(db_, absl::StrCat("SELECT ", kCheckpointColumns,
                                   " FROM audit_checkpoints ORDER BY number "
                                   "DESC LIMIT 1"));
  if (!last.status().ok()) return last.status();
  int rc = last.Step();
  if (rc == SQLITE_ROW) state.last = ReadCheckpoint(last);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return last.Error("reading the checkpoints");
  Statement count(db_, "SELECT count(*) FROM audit_chain WHERE seq > ?1");
  if (!count.status().ok()) return count.status();
  count.Bind(1, state.last ? state.last->last_seq : 0);
  if (count.Step() != SQLITE_ROW) return count.Error("reading the chain");
  state.unsigned_events = count.Int(0);
  return state;
}

absl::StatusOr<std::optional<AuditCheckpoint>> AuditStore::SignCheckpoint(
    const CheckpointSigner& signer, absl::Time now,
    const std::optional<AuditCheckpoint>& signed_last) {
  std::optional<AuditCheckpoint> signed_checkpoint;
  absl::MutexLock lock(&write_mutex_);
  absl::Status status = InTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                          write_mutex_) -> absl::Status {
    absl::StatusOr<CheckpointState> state = GetCheckpointState();
    if (!state.ok()) return state.status();
    if (state->last.has_value() != signed_last.has_value() ||
        (state->last.has_value() && *state->last != *signed_last)) {
      return absl::DataLossError(absl::StrCat(
          "refusing to sign: the audit log's newest checkpoint is ",
          state->last ? absl::StrCat("number ", state->last->number)
                      : std::string("missing"),
          ", not the one signed last (",
          signed_last ? absl::StrCat("number ", signed_last->number)
                      : std::string("none"),
          "): checkpoints were deleted or replaced in the database"));
    }
    if (state->unsigned_events == 0) return absl::OkStatus();
    absl::StatusOr<int64_t> chain_start = ChainStart();
    if (!chain_start.ok()) return chain_start.status();
    // What is signed is checked first: a row edited (and its chain
    // recomputed) before the controller got to sign it is refused, not
    // signed into the record.
    std::string previous =
        state->last ? state->last->head_hash : GenesisHash(*chain_start);
    Statement events(db_, absl::StrFormat(kEventQuery, kRecordColumns));
    if (!events.status().ok()) return events.status();
    events.Bind(1, state->last ? state->last->last_seq : 0);
    events.Bind(2, int64_t{-1});
    AuditCheckpoint checkpoint;
    checkpoint.number = state->last ? state->last->number + 1 : 1;
    checkpoint.first_seq = state->last ? state->last->last_seq + 1 : 1;
    checkpoint.previous_signature = state->last ? state->last->signature : "";
    int rc;
    bool first = !state->last;
    while ((rc = events.Step()) == SQLITE_ROW) {
      const ChainEvent event = ReadEvent(events, /*whole_rows=*/false);
      if (absl::Status checked = CheckEvent(event, previous, first);
          !checked.ok()) {
        return absl::DataLossError(
            absl::StrCat("refusing to sign audit checkpoint ",
                         checkpoint.number, ": ", checked.message()));
      }
      first = false;
      previous = event.hash;
      checkpoint.last_seq = event.seq;
    }
    if (rc != SQLITE_DONE) return events.Error("reading the chain");
    checkpoint.head_hash = previous;
    checkpoint.signed_at_ms = absl::ToUnixMillis(now);
    if (absl::Status sign = signer.Sign(checkpoint); !sign.ok()) return sign;
    Statement insert(
        db_, absl::StrCat("INSERT INTO audit_checkpoints (", kCheckpointColumns,
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                          "?8)"));
    if (!insert.status().ok()) return insert.status();
    insert.Bind(1, checkpoint.number);
    insert.Bind(2, checkpoint.first_seq);
    insert.Bind(3, checkpoint.last_seq);
    insert.Bind(4, checkpoint.head_hash);
    insert.Bind(5, checkpoint.previous_signature);
    insert.Bind(6, checkpoint.signed_at_ms);
    insert.Bind(7, checkpoint.key_id);
    insert.Bind(8, checkpoint.signature);
    if (insert.Step() != SQLITE_DONE)
      return insert.Error("recording the checkpoint");
    signed_checkpoint = std::move(checkpoint);
    return absl::OkStatus();
  });
  if (!status.ok()) return WithSpaceHint(status, path_);
  return signed_checkpoint;
}

absl::StatusOr<std::string> AuditStore::Verify(const VerifyOptions& options) {
  // A connection of its own, in one read transaction: the walk sees one
  // snapshot while opsctld keeps writing (rows appended meanwhile are not
  // taken for rows inserted behind its back), and without the shared
  // connection's mutex, which costs a tenth of a million-row walk.
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(
          path_.c_str(), &db,
          SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
          nullptr) != SQLITE_OK) {
    absl::Status error = absl::UnavailableError(
        absl::StrCat("audit log ", path_, " cannot be opened to verify: ",
                     db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close_v2(db);
    return error;
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> closer(db, sqlite3_close_v2);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return absl::UnavailableError(
        absl::StrCat("audit log ", path_, ": ", sqlite3_errmsg(db)));
  }
  absl::StatusOr<int64_t> start = ChainStartOf(db);
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
  absl::StatusOr<std::vector<AuditCheckpoint>> loaded = CheckpointsOf(db, 0);
  if (!loaded.ok()) return loaded.status();
  const std::vector<AuditCheckpoint>& checkpoints = *loaded;
  const CheckpointVerifier* key = options.checkpoint_key;
  if (key == nullptr && (!checkpoints.empty() || !options.exported.empty())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log has ", checkpoints.size(),
        " signed checkpoint(s); give the controller's checkpoint key "
        "(--checkpoint-key, its public half) to check them"));
  }
  if (key != nullptr) {
    if (absl::Status status = CheckCheckpoints(checkpoints, *key); !status.ok())
      return status;
  }
  // The copies kept elsewhere: the database must hold each, unchanged.
  for (const AuditCheckpoint& copy : options.exported) {
    if (absl::Status signature = key->Check(copy); !signature.ok()) {
      return absl::DataLossError(
          absl::StrCat("the exported copy of ", signature.message(),
                       ": it proves nothing about the database"));
    }
    if (copy.number > static_cast<int64_t>(checkpoints.size())) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint ", copy.number, " (signed ",
          FormatTime(copy.signed_at_ms), ", events to ", copy.last_seq,
          ") was exported but the database ",
          checkpoints.empty()
              ? std::string("has no checkpoint")
              : absl::StrCat("ends at checkpoint ", checkpoints.size()),
          ": it was swapped for an older copy, or its newest rows and "
          "checkpoints were deleted"));
    }
    if (checkpoints[copy.number - 1] != copy) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint ", copy.number,
          " in the database differs from the copy exported: rewritten"));
    }
  }

  std::string previous = GenesisHash(chain_start);
  int64_t events = 0;
  int64_t pinned_at = -1;
  int64_t last_seq = 0;
  int64_t first_unsigned_ms = 0;
  size_t next_checkpoint = 0;
  Statement max_id(db, "SELECT coalesce(max(id), 0) FROM actions");
  if (!max_id.status().ok()) return max_id.status();
  if (max_id.Step() != SQLITE_ROW) return max_id.Error("reading the rows");
  EventCounts seen(chain_start + 1, max_id.Int(0));
  Statement chain(db, absl::StrFormat(kEventQuery, kRecordColumns));
  if (!chain.status().ok()) return chain.status();
  chain.Bind(1, int64_t{0});
  chain.Bind(2, int64_t{-1});
  int rc;
  while ((rc = chain.Step()) == SQLITE_ROW) {
    const ChainEvent event = ReadEvent(chain, /*whole_rows=*/false);
    if (absl::Status checked = CheckEvent(event, previous, events == 0);
        !checked.ok())
      return checked;
    if (next_checkpoint < checkpoints.size()) {
      const AuditCheckpoint& c = checkpoints[next_checkpoint];
      if (event.seq > c.last_seq) {
        return absl::DataLossError(absl::StrCat(
            "event ", c.last_seq, ", which checkpoint ", c.number,
            " signed, is gone: events were deleted and the chain recomputed"));
      }
      if (event.seq == c.last_seq) {
        if (event.hash != c.head_hash) {
          return absl::DataLossError(
              absl::StrCat("events up to ", c.last_seq,
                           " no longer end in the head that "
                           "checkpoint ",
                           c.number, " signed at ", FormatTime(c.signed_at_ms),
                           ": rows were edited and the chain recomputed"));
        }
        ++next_checkpoint;
      }
    } else if (first_unsigned_ms == 0) {
      first_unsigned_ms = event.time_ms();
    }
    seen.Add(event.action_id);
    previous = event.hash;
    last_seq = event.seq;
    ++events;
    if (event.hash == options.expect_head) pinned_at = event.seq;
  }
  if (rc != SQLITE_DONE) return chain.Error("reading the chain");
  if (next_checkpoint < checkpoints.size()) {
    const AuditCheckpoint& c = checkpoints.back();
    return absl::DataLossError(
        absl::StrCat("events ", last_seq + 1, " to ", c.last_seq,
                     " were deleted from the end: checkpoint ", c.number,
                     " signed them at ", FormatTime(c.signed_at_ms)));
  }
  // Rows the chain does not know: inserted or completed behind opsctl's back.
  // Also counted, for the indexes below: all rows, and those the partial
  // indexes hold.
  int64_t row_count = 0, with_incident = 0, with_run = 0;
  {
    Statement unchained(db,
                        "SELECT count(*), total(incident != ''), "
                        "total(run_id != '') FROM actions WHERE id <= ?1");
    if (!unchained.status().ok()) return unchained.status();
    unchained.Bind(1, chain_start);
    if (unchained.Step() != SQLITE_ROW)
      return unchained.Error("reading the rows");
    row_count = unchained.Int(0);
    with_incident = unchained.Int(1);
    with_run = unchained.Int(2);
  }
  Statement rows(db,
                 "SELECT id, outcome, incident != '', run_id != '' FROM "
                 "actions WHERE id > ?1 ORDER BY id");
  if (!rows.status().ok()) return rows.status();
  rows.Bind(1, chain_start);
  while ((rc = rows.Step()) == SQLITE_ROW) {
    const int64_t id = rows.Int(0);
    ++row_count;
    with_incident += rows.Int(2);
    with_run += rows.Int(3);
    const int expected = rows.Text(1) == "pending" ? 1 : 2;
    const int count = seen.Count(id);
    if (count != expected) {
      return absl::DataLossError(
          absl::StrCat("row ", id, " was ", count == 0 ? "inserted" : "changed",
                       " outside opsctl: the chain has ", count, " of its ",
                       expected, " events"));
    }
  }
  if (rc != SQLITE_DONE) return rows.Error("reading the rows");
  // `opsctl audit` finds rows through the indexes: one that lacks rows (an
  // index rebuilt as a partial one behind SQLite's back) hides them from
  // every query while the table and the chain are intact.
  for (const auto& [index, where, expected] :
       std::vector<std::tuple<const char*, const char*, int64_t>>{
           {"actions_by_time", "started_at_ms IS NOT NULL", row_count},
           {"actions_by_host", "host IS NOT NULL", row_count},
           {"actions_by_user", "os_user IS NOT NULL", row_count},
           {"actions_by_identity", "cert_identity IS NOT NULL", row_count},
           {"actions_by_operation", "operation IS NOT NULL", row_count},
           {"actions_by_outcome", "outcome IS NOT NULL", row_count},
           {"actions_by_incident", "incident != ''", with_incident},
           {"actions_by_run", "run_id != ''", with_run}}) {
    Statement count(db, absl::StrCat("SELECT count(*) FROM actions INDEXED BY ",
                                     index, " WHERE ", where));
    if (!count.status().ok()) {
      return absl::DataLossError(
          absl::StrCat("the index ", index,
                       " is missing or changed: ", count.status().message()));
    }
    if (count.Step() != SQLITE_ROW) return count.Error("reading an index");
    if (count.Int(0) != expected) {
      return absl::DataLossError(absl::StrCat(
          "the index ", index, " holds ", count.Int(0),
          " rows where the table "
          "has ",
          expected,
          ": rows are hidden from queries (the database's indexes were "
          "tampered with; sqlite3 FILE REINDEX restores them once the "
          "investigation has a copy)"));
    }
  }
  if (!options.expect_head.empty() && pinned_at < 0) {
    return absl::DataLossError(absl::StrCat(
        "the pinned head ", options.expect_head,
        " is not in the chain: events up to it were deleted or rewritten "
        "(the chain now ends at ",
        previous, " after ", events, " events)"));
  }
  const int64_t signed_to =
      checkpoints.empty() ? 0 : checkpoints.back().last_seq;
  const int64_t unsigned_events = last_seq - signed_to;
  // Events no checkpoint covers were appended after the newest one was
  // signed, and not in the future: a tail dated otherwise was edited (to
  // look fresh, or to pass for older rows whose checkpoint was deleted).
  if (key != nullptr && unsigned_events > 0) {
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    if (!checkpoints.empty() &&
        first_unsigned_ms + kDatingSlackMs < checkpoints.back().signed_at_ms) {
      return absl::DataLossError(absl::StrCat(
          "event ", signed_to + 1, ", recorded ", FormatTime(first_unsigned_ms),
          ", is in no checkpoint although it is dated before the newest one (",
          FormatTime(checkpoints.back().signed_at_ms),
          "): back-dated, or the checkpoint that signed it was deleted"));
    }
    if (first_unsigned_ms > now_ms + kDatingSlackMs) {
      return absl::DataLossError(
          absl::StrCat("event ", signed_to + 1, " is dated in the future (",
                       FormatTime(first_unsigned_ms), "): edited"));
    }
  }
  if (options.max_unsigned_age > absl::ZeroDuration() && unsigned_events > 0 &&
      absl::Now() - absl::FromUnixMillis(first_unsigned_ms) >
          options.max_unsigned_age) {
    return absl::DataLossError(absl::StrCat(
        "event ", signed_to + 1, ", recorded ", FormatTime(first_unsigned_ms),
        ", is in no checkpoint although one is signed at least every ",
        absl::FormatDuration(options.max_unsigned_age),
        ": the newest checkpoints were deleted, or the controller stopped "
        "signing"));
  }
  std::string report = absl::StrCat(
      events, " events verified",
      chain_start > 0 ? absl::StrCat(" (rows after ", chain_start, ")") : "");
  if (!checkpoints.empty()) {
    const AuditCheckpoint& c = checkpoints.back();
    absl::StrAppend(&report, "; ", checkpoints.size(),
                    " checkpoint(s) signed by key ", c.key_id,
                    " verified, the last (", c.number, ", ",
                    FormatTime(c.signed_at_ms), ") signs events to ",
                    c.last_seq, ", ", unsigned_events, " event(s) since");
    if (!options.exported.empty())
      absl::StrAppend(&report, "; ", options.exported.size(),
                      " exported checkpoint(s) match");
  } else if (key == nullptr) {
    absl::StrAppend(&report, "; no signed checkpoints");
  } else {
    absl::StrAppend(&report, "; no checkpoint signed yet, ", unsigned_events,
                    " event(s) unsigned");
  }
  absl::StrAppend(
      &report,
      pinned_at >= 0
          ? absl::StrCat("; the pinned head is event ", pinned_at, ", ",
                         last_seq - pinned_at, " event(s) since")
          : "",
      "; head ", previous,
      options.expect_head.empty() && key == nullptr
          ? " (keep it elsewhere and verify with --expect-head to detect "
            "rows deleted from the end)"
          : "");
  return report;
}

std::string AuditCursor::ToString() const {
  return absl::StrCat(seq, ".", checkpoint);
}

absl::StatusOr<AuditCursor> AuditCursor::Parse(absl::string_view text) {
  AuditCursor cursor;
  if (text.empty()) return cursor;
  const size_t dot = text.find('.');
  if (dot == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(0, dot), &cursor.seq) ||
      !absl::SimpleAtoi(text.substr(dot + 1), &cursor.checkpoint) ||
      cursor.seq < 0 || cursor.checkpoint < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text,
        "\" is not an export cursor (SEQ.CHECKPOINT, as the last line "
        "exported gave it)"));
  }
  return cursor;
}

absl::StatusOr<std::vector<AuditExportItem>> AuditStore::Export(
    const AuditCursor& after, int limit) {
  Statement select(db_, absl::StrFormat(kEventQuery, kRecordColumns));
  if (!select.status().ok()) return select.status();
  select.Bind(1, after.seq);
  select.Bind(2, int64_t{limit});
  std::vector<ChainEvent> events;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW)
    events.push_back(ReadEvent(select, /*whole_rows=*/true));
  if (rc != SQLITE_DONE) return select.Error("reading the chain");
  absl::StatusOr<std::vector<AuditCheckpoint>> checkpoints =
      Checkpoints(after.checkpoint);
  if (!checkpoints.ok()) return checkpoints.status();
  // A checkpoint follows the event it signs; one that signs an event not
  // read yet waits for the next call.
  const bool all_events = static_cast<int>(events.size()) < limit;
  const int64_t read_to = events.empty() ? after.seq : events.back().seq;
  std::vector<AuditExportItem> items;
  AuditCursor cursor = after;
  size_t next_event = 0;
  // Emits the events up to `seq`.
  auto emit_events = [&](int64_t seq) {
    for (; next_event < events.size() && events[next_event].seq <= seq;
         ++next_event) {
      const ChainEvent& event = events[next_event];
      cursor.seq = event.seq;
      AuditExportItem item{cursor,     std::nullopt,
                           event.seq,  event.event,
                           event.hash, event.record.value_or(AuditRecord{})};
      if (event.event == "intent") {  // as the intent recorded it
        item.record.result.reset();
        item.record.outcome = AuditOutcome::kPending;
      }
      items.push_back(std::move(item));
    }
  };
  for (const AuditCheckpoint& checkpoint : *checkpoints) {
    if (checkpoint.last_seq > read_to && !all_events) break;
    emit_events(checkpoint.last_seq);
    cursor.checkpoint = checkpoint.number;
    items.push_back({cursor, checkpoint, 0, "", "", {}});
  }
  emit_events(read_to);
  if (static_cast<int>(items.size()) > limit && limit >= 0) items.resize(limit);
  return items;
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
  if (!filter.ticket.empty())
    absl::StrAppend(&where, " AND ticket = ?11 AND ticket != ''");
  if (filter.id) absl::StrAppend(&where, " AND id = ?10");
  Statement select(
      db_, absl::StrCat("SELECT * FROM (SELECT ", kRecordColumns,
                        " FROM actions a WHERE ", where,
                        " ORDER BY started_at_ms DESC, id DESC LIMIT ?9) "
                        "ORDER BY started_at_ms, id"));
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
  select.Bind(11, filter.ticket);

  std::vector<AuditRecord> records;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW)
    records.push_back(ReadRecord(select, 0));
  if (rc != SQLITE_DONE) return select.Error("querying");
  return records;
}

absl::StatusOr<int64_t> AuditStore::SettleInterrupted(absl::Time now) {
  AuditFilter pending;
  pending.outcome = AuditOutcome::kPending;
  // In bounded batches, each one transaction: a log left with a large
  // fan-out cut off is settled without holding it all in memory.
  pending.limit = 1000;
  int64_t settled = 0;
  while (true) {
    absl::StatusOr<std::vector<AuditRecord>> rows = Query(pending);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return settled;
    std::vector<std::pair<int64_t, AuditResult>> results;
    for (const AuditRecord& row : *rows) {
      AuditResult result;
      result.outcome = AuditOutcome::kUnknown;
      result.finished_at_ms = absl::ToUnixMillis(now);
      result.error_code = "UNAVAILABLE";
      result.message = absl::StrCat(
          "the controller stopped before ", row.intent.host,
          " answered (killed or restarted mid-call); whether it ran is in ",
          "the host's own journal: opsctl audit reconcile --host ",
          row.intent.host);
      results.emplace_back(row.id, std::move(result));
    }
    if (absl::Status done = Commit({}, results).status(); !done.ok())
      return done;
    settled += static_cast<int64_t>(results.size());
  }
}

}  // namespace opsagent
