#include "controller/audit/sqlite_audit_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/sqlite_statement.h"
#include "common/status_macros.h"
#include "controller/audit/audit_chain.h"
#include "controller/audit/audit_log_file.h"
#include "controller/audit/audit_rows.h"
#include "controller/audit/audit_schema.h"
#include "controller/audit/checkpoint_tail.h"

namespace opsagent {
namespace {

absl::StatusOr<std::vector<v1::AuditCheckpoint>> ReadCheckpoints(
    sqlite3* db, int64_t after) {
  Statement select(db, absl::StrCat("SELECT ", kCheckpointColumns,
                                    " FROM audit_checkpoints WHERE number > "
                                    "?1 ORDER BY number"));
  if (!select.status().ok()) return select.status();
  select.Bind(1, after);
  std::vector<v1::AuditCheckpoint> checkpoints;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW)
    checkpoints.push_back(ReadCheckpoint(select));
  if (rc != SQLITE_DONE) return select.Error("reading the checkpoints");
  return checkpoints;
}

absl::StatusOr<CheckpointState> ReadCheckpointState(sqlite3* db) {
  CheckpointState state;
  Statement last(db, absl::StrCat("SELECT ", kCheckpointColumns,
                                  " FROM audit_checkpoints ORDER BY number "
                                  "DESC LIMIT 1"));
  if (!last.status().ok()) return last.status();
  int rc = last.Step();
  if (rc == SQLITE_ROW) state.last = ReadCheckpoint(last);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return last.Error("reading the checkpoints");
  Statement count(db, "SELECT count(*) FROM audit_chain WHERE seq > ?1");
  if (!count.status().ok()) return count.status();
  count.Bind(1, state.last ? state.last->last_seq() : 0);
  if (count.Step() != SQLITE_ROW) return count.Error("reading the chain");
  state.unsigned_events = count.Int(0);
  return state;
}

// Visits the chain events after `after` (at most `limit`, -1: all).
absl::Status ReadChainEvents(
    sqlite3* db, int64_t after, int64_t limit, bool whole_rows,
    const std::function<absl::Status(const ChainEvent&)>& visit) {
  Statement events(db, ChainEventQuery('?'));
  if (!events.status().ok()) return events.status();
  events.Bind(1, after);
  events.Bind(2, limit);
  int rc;
  while ((rc = events.Step()) == SQLITE_ROW)
    RETURN_IF_ERROR(visit(ReadEvent(events, whole_rows)));
  if (rc != SQLITE_DONE) return events.Error("reading the chain");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::AuditEntry>> QueryRows(
    sqlite3* db, const v1::AuditQuery& filter) {
  const AuditQuerySql query = BuildAuditQuery(filter, '?');
  Statement select(db, query.sql);
  if (!select.status().ok()) return select.status();
  for (size_t i = 0; i < query.params.size(); ++i) {
    std::visit([&](const auto& value) { select.Bind(i + 1, value); },
               query.params[i]);
  }
  std::vector<v1::AuditEntry> records;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW)
    records.push_back(ReadRecord(select, 0));
  if (rc != SQLITE_DONE) return select.Error("querying");
  return records;
}

absl::Status InsertCheckpoint(sqlite3* db,
                              const v1::AuditCheckpoint& checkpoint) {
  Statement insert(
      db, absl::StrCat("INSERT INTO audit_checkpoints (", kCheckpointColumns,
                       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  if (!insert.status().ok()) return insert.status();
  insert.Bind(1, checkpoint.number());
  insert.Bind(2, checkpoint.first_seq());
  insert.Bind(3, checkpoint.last_seq());
  insert.Bind(4, checkpoint.head_hash());
  insert.Bind(5, checkpoint.previous_signature());
  insert.Bind(6, checkpoint.signed_at_ms());
  insert.Bind(7, checkpoint.key_id());
  insert.Bind(8, checkpoint.signature());
  if (insert.Step() != SQLITE_DONE)
    return insert.Error("recording the checkpoint");
  return absl::OkStatus();
}

// The log as a write transaction on `db` sees it, for checkpoint_tail.h.
absl::StatusOr<TailContext> Tail(sqlite3* db) {
  TailContext log;
  ASSIGN_OR_RETURN(log.state, ReadCheckpointState(db));
  ASSIGN_OR_RETURN(log.chain_start, ChainStartOf(db));
  log.read = [db](int64_t after, int64_t limit, const auto& visit) {
    return ReadChainEvents(db, after, limit, /*whole_rows=*/false, visit);
  };
  log.insert = [db](const v1::AuditCheckpoint& checkpoint) {
    return InsertCheckpoint(db, checkpoint);
  };
  return log;
}

using Connection = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;

// The first column of a row whose value is not of the storage class opsctl
// writes (AuditColumns), as SQL: its name, or '' when all are.
std::string MistypedColumnExpression() {
  std::string expression = "CASE";
  for (const AuditColumn& column : AuditColumns()) {
    absl::StrAppend(&expression, " WHEN typeof(", column.name, ") NOT IN ('",
                    column.type, "'", column.nullable ? ", 'null'" : "",
                    ") THEN '", column.name, "'");
  }
  return absl::StrCat(expression, " ELSE '' END");
}

// A read-only connection of its own, in one read transaction: the walk sees
// one snapshot while opsctld keeps writing, and without the writers'
// shared connection and its mutex, which cost a tenth of a million-row walk.
class SqliteSnapshot final : public AuditSnapshot {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteSnapshot>> Open(
      const std::string& path) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(
        path.c_str(), &db,
        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
        nullptr);
    Connection connection(db, sqlite3_close_v2);
    if (rc != SQLITE_OK) {
      return absl::UnavailableError(
          absl::StrCat("audit log ", path, " cannot be opened to verify: ",
                       db ? sqlite3_errmsg(db) : "out of memory"));
    }
    sqlite3_busy_timeout(db, kAuditBusyTimeoutMs);
    RETURN_IF_ERROR(ExecSql(db, "BEGIN", absl::StrCat("audit log ", path)));
    return std::unique_ptr<SqliteSnapshot>(
        new SqliteSnapshot(std::move(connection)));
  }

  absl::StatusOr<int64_t> ChainStart() override {
    return ChainStartOf(db_.get());
  }
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> Checkpoints() override {
    return ReadCheckpoints(db_.get(), 0);
  }
  absl::StatusOr<int64_t> MaxRowId() override {
    Statement max_id(db_.get(), "SELECT coalesce(max(id), 0) FROM actions");
    if (!max_id.status().ok()) return max_id.status();
    if (max_id.Step() != SQLITE_ROW) return max_id.Error("reading the rows");
    return max_id.Int(0);
  }
  absl::Status ForEachEvent(
      const std::function<absl::Status(const ChainEvent&)>& visit) override {
    return ReadChainEvents(db_.get(), 0, -1, /*whole_rows=*/false, visit);
  }
  // Also counts the rows each index should hold, for CheckIndexes.
  absl::Status ForEachRow(
      const std::function<absl::Status(int64_t, bool)>& visit) override {
    const std::vector<AuditIndex>& indexes = AuditIndexes();
    std::vector<std::string> held;
    for (const AuditIndex& index : indexes)
      held.push_back(absl::StrCat("(", index.holds, ")"));
    expected_.assign(indexes.size(), 0);
    Statement rows(
        db_.get(),
        absl::StrCat("SELECT id, outcome, ", MistypedColumnExpression(), ", ",
                     absl::StrJoin(held, ", "), " FROM actions ORDER BY id"));
    if (!rows.status().ok()) return rows.status();
    int rc;
    while ((rc = rows.Step()) == SQLITE_ROW) {
      const int64_t id = rows.Int(0);
      for (size_t i = 0; i < indexes.size(); ++i)
        expected_[i] += rows.Int(3 + i);
      if (const std::string mistyped = rows.Text(2); !mistyped.empty()) {
        return absl::DataLossError(absl::StrCat(
            "row ", id, " was changed outside opsctl: its ", mistyped,
            " is stored as another type than opsctl writes, which hides the "
            "row from queries"));
      }
      RETURN_IF_ERROR(visit(id, rows.Text(1) == "pending"));
    }
    if (rc != SQLITE_DONE) return rows.Error("reading the rows");
    return absl::OkStatus();
  }
  // `opsctl audit` finds rows through the indexes, so one that lacks rows
  // (rebuilt as a partial one behind SQLite's back) hides them from every
  // query while the table and the chain are intact.
  absl::Status CheckIndexes() override {
    const std::vector<AuditIndex>& indexes = AuditIndexes();
    for (size_t i = 0; i < indexes.size() && i < expected_.size(); ++i) {
      const AuditIndex& index = indexes[i];
      Statement count(db_.get(),
                      absl::StrCat("SELECT count(*) FROM actions INDEXED BY ",
                                   index.name, " WHERE ", index.holds));
      if (!count.status().ok()) {
        return absl::DataLossError(
            absl::StrCat("the index ", index.name,
                         " is missing or changed: ", count.status().message()));
      }
      if (count.Step() != SQLITE_ROW) return count.Error("reading an index");
      if (count.Int(0) != expected_[i]) {
        return absl::DataLossError(absl::StrCat(
            "the index ", index.name, " holds ", count.Int(0),
            " rows where the table has ", expected_[i],
            ": rows are hidden from queries (the database's indexes were "
            "tampered with; sqlite3 FILE REINDEX restores them once the "
            "investigation has a copy)"));
      }
    }
    return absl::OkStatus();
  }

 private:
  explicit SqliteSnapshot(Connection db) : db_(std::move(db)) {}

  Connection db_;
  std::vector<int64_t> expected_;
};

}  // namespace

absl::StatusOr<std::string> VerifyAuditLog(const std::string& path,
                                           const VerifyOptions& options) {
  absl::StatusOr<std::unique_ptr<SqliteSnapshot>> snapshot =
      SqliteSnapshot::Open(path);
  if (!snapshot.ok()) return snapshot.status();
  return VerifyAuditSnapshot(**snapshot, options);
}

absl::StatusOr<std::unique_ptr<SqliteAuditStore>> SqliteAuditStore::Open(
    const std::string& path) {
  if (absl::Status status = PrepareAuditLogFile(path); !status.ok())
    return status;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
                           nullptr);
  std::unique_ptr<SqliteAuditStore> store(new SqliteAuditStore(db, path));
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(absl::StrCat(
        "audit log ", path,
        " cannot be opened: ", db ? sqlite3_errmsg(db) : "out of memory"));
  }
  sqlite3_busy_timeout(db, kAuditBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 1);
  // Several opsctl processes may open a new database at once. SQLite can
  // answer BUSY for the switch to WAL or the schema set-up without waiting
  // on its busy handler, so those steps are retried until the busy timeout.
  const absl::Time deadline =
      absl::Now() + absl::Milliseconds(kAuditBusyTimeoutMs);
  for (;;) {
    absl::Status status = CreateOrUpgradeSchema(db, path);
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

SqliteAuditStore::SqliteAuditStore(sqlite3* db, std::string path)
    : db_(db),
      path_(std::move(path)),
      group_commit_([this](const auto& intents, const auto& results) {
        return CommitTransaction(intents, results);
      }) {}

SqliteAuditStore::~SqliteAuditStore() { sqlite3_close_v2(db_); }

absl::Status SqliteAuditStore::Exec(const char* sql) {
  return ExecSql(db_, sql, absl::StrCat("audit log ", path_));
}

// One transaction's writes: the statements are prepared once, and the
// chain's head is read once and then carried, so that a fan-out's thousand
// rows cost a thousand inserts, not a thousand of each lookup.
class SqliteAuditStore::Batch {
 public:
  explicit Batch(SqliteAuditStore* store)
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
    absl::StatusOr<int64_t> start = ChainStartOf(store_->db_);
    if (!start.ok()) return start.status();
    head_ = GenesisHash(*start);
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Insert(const v1::AuditIntent& intent) {
    insert_.Reset();
    insert_.Bind(1, intent.request_id());
    insert_.Bind(2, intent.run_id());
    insert_.Bind(3, intent.started_at_ms());
    insert_.Bind(4, intent.os_user());
    insert_.Bind(5, intent.cert_identity());
    insert_.Bind(6, intent.host());
    insert_.Bind(7, intent.address());
    insert_.Bind(8, intent.operation());
    insert_.Bind(9, intent.parameters_json());
    insert_.Bind(10, intent.reason());
    insert_.Bind(11, intent.incident());
    insert_.Bind(12, int64_t{intent.dry_run()});
    insert_.Bind(13, int64_t{intent.mutating()});
    if (intent.has_os_uid() && intent.os_uid() >= 0)
      insert_.Bind(14, intent.os_uid());
    insert_.Bind(15, intent.sudo_user());
    insert_.Bind(16, intent.ticket());
    if (insert_.Step() != SQLITE_DONE)
      return insert_.Error("recording the intent");
    const int64_t id = sqlite3_last_insert_rowid(store_->db_);
    if (absl::Status chained = Chain(id, "intent", CanonicalIntent(id, intent));
        !chained.ok())
      return chained;
    return id;
  }

  absl::Status Complete(int64_t id, const v1::AuditResult& result) {
    update_.Reset();
    update_.Bind(1, id);
    update_.Bind(2, std::string(OutcomeName(result.outcome())));
    update_.Bind(3, result.finished_at_ms());
    update_.Bind(4, result.error_code());
    update_.Bind(5, result.message());
    update_.Bind(6, result.summary());
    update_.Bind(7, result.result_json());
    update_.Bind(8, result.agent_result_sha256());
    update_.Bind(9, result.agent_signature());
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

  SqliteAuditStore* const store_;
  Statement insert_;
  Statement update_;
  Statement append_;
  std::string head_;
};

absl::StatusOr<std::vector<int64_t>> SqliteAuditStore::Commit(
    const std::vector<v1::AuditIntent>& intents,
    const std::vector<std::pair<int64_t, v1::AuditResult>>& results) {
  return group_commit_.Commit(intents, results);
}

absl::StatusOr<std::vector<int64_t>> SqliteAuditStore::CommitTransaction(
    const std::vector<const v1::AuditIntent*>& intents,
    const std::vector<const std::pair<int64_t, v1::AuditResult>*>& results) {
  std::vector<int64_t> ids;
  // The rows and their chain events commit together; with
  // synchronous=FULL they are on disk when this returns.
  absl::MutexLock lock(&write_mutex_);
  absl::Status status =
      InTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_) {
        Batch batch(this);
        RETURN_IF_ERROR(batch.Start());
        for (const auto* result : results)
          RETURN_IF_ERROR(batch.Complete(result->first, result->second));
        for (const v1::AuditIntent* intent : intents) {
          ASSIGN_OR_RETURN(const int64_t id, batch.Insert(*intent));
          ids.push_back(id);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return WithSpaceHint(status, path_);
  return ids;
}

absl::Status SqliteAuditStore::InTransaction(
    const std::function<absl::Status()>& body) {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  absl::Status status = body();
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) Exec("ROLLBACK").IgnoreError();
  return status;
}

absl::StatusOr<std::optional<v1::AuditCheckpoint>>
SqliteAuditStore::SignCheckpoint(
    const CheckpointSigner& signer, absl::Time now,
    const std::optional<v1::AuditCheckpoint>& signed_last,
    const std::function<absl::Status(const v1::AuditCheckpoint&)>&
        before_commit) {
  std::optional<v1::AuditCheckpoint> signed_checkpoint;
  absl::MutexLock lock(&write_mutex_);
  absl::Status status = InTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                          write_mutex_) -> absl::Status {
    ASSIGN_OR_RETURN(const TailContext log, Tail(db_));
    ASSIGN_OR_RETURN(signed_checkpoint,
                     SignTail(log, signer, now, signed_last, before_commit));
    return absl::OkStatus();
  });
  if (!status.ok()) return WithSpaceHint(status, path_);
  return signed_checkpoint;
}

absl::Status SqliteAuditStore::AdoptCheckpoint(
    const v1::AuditCheckpoint& checkpoint) {
  absl::MutexLock lock(&write_mutex_);
  absl::Status status = InTransaction(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_) -> absl::Status {
        ASSIGN_OR_RETURN(const TailContext log, Tail(db_));
        return AdoptIntoTail(log, checkpoint);
      });
  return WithSpaceHint(status, path_);
}

absl::StatusOr<std::string> SqliteAuditStore::Verify(
    const VerifyOptions& options) {
  return VerifyAuditLog(path_, options);
}

absl::StatusOr<CheckpointState> SqliteAuditStore::GetCheckpointState() {
  return ReadCheckpointState(db_);
}

absl::StatusOr<std::vector<v1::AuditCheckpoint>> SqliteAuditStore::Checkpoints(
    int64_t after) {
  return ReadCheckpoints(db_, after);
}

absl::StatusOr<std::vector<v1::ExportAuditItem>> SqliteAuditStore::Export(
    const AuditCursor& after, int limit) {
  std::vector<ChainEvent> events;
  RETURN_IF_ERROR(ReadChainEvents(db_, after.seq, limit, /*whole_rows=*/true,
                                  [&](const ChainEvent& event) {
                                    events.push_back(event);
                                    return absl::OkStatus();
                                  }));
  ASSIGN_OR_RETURN(const std::vector<v1::AuditCheckpoint> checkpoints,
                   ReadCheckpoints(db_, after.checkpoint));
  return MergeExport(events, checkpoints, after, limit);
}

absl::StatusOr<std::vector<v1::AuditEntry>> SqliteAuditStore::Query(
    const v1::AuditQuery& filter) {
  return QueryRows(db_, filter);
}

absl::StatusOr<std::vector<v1::AuditEntry>> SqliteAuditStore::OwnPending(
    int limit) {
  v1::AuditQuery pending;
  pending.set_outcome(v1::OUTCOME_PENDING);
  pending.set_limit(limit);
  return Query(pending);
}

}  // namespace opsagent
