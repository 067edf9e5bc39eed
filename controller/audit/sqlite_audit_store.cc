#include "controller/audit/audit_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sqlite_statement.h"
#include "controller/audit/audit_chain.h"
#include "controller/audit/audit_log_file.h"
#include "controller/audit/audit_rows.h"
#include "controller/audit/audit_schema.h"

namespace opsagent {

absl::StatusOr<std::unique_ptr<AuditStore>> AuditStore::Open(
    const std::string& path) {
  if (absl::Status status = PrepareAuditLogFile(path); !status.ok())
    return status;
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

AuditStore::~AuditStore() { sqlite3_close_v2(db_); }

absl::Status AuditStore::Exec(const char* sql) {
  return ExecSql(db_, sql, absl::StrCat("audit log ", path_));
}

absl::StatusOr<int64_t> AuditStore::RecordIntent(
    const v1::AuditIntent& intent) {
  absl::StatusOr<std::vector<int64_t>> ids = Commit({intent}, {});
  if (!ids.ok()) return ids.status();
  return ids->front();
}

absl::Status AuditStore::RecordResult(int64_t id,
                                      const v1::AuditResult& result) {
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

  AuditStore* const store_;
  Statement insert_;
  Statement update_;
  Statement append_;
  std::string head_;
};

absl::StatusOr<std::vector<int64_t>> AuditStore::Commit(
    const std::vector<v1::AuditIntent>& intents,
    const std::vector<std::pair<int64_t, v1::AuditResult>>& results) {
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
        for (const v1::AuditIntent& intent : intents) {
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

namespace {

// The chain's events after the newest checkpoint of `state`, checked one by
// one (CheckChainEvent): up to event `to` (-1: all of them). Fills in what
// a checkpoint of them says: its number, first and last event, previous
// signature and head. `doing` starts an error ("refusing to sign ...").
absl::StatusOr<v1::AuditCheckpoint> CheckedTail(sqlite3* db,
                                                const CheckpointState& state,
                                                int64_t to,
                                                absl::string_view doing) {
  absl::StatusOr<int64_t> chain_start = ChainStartOf(db);
  if (!chain_start.ok()) return chain_start.status();
  v1::AuditCheckpoint checkpoint;
  checkpoint.set_number(state.last ? state.last->number() + 1 : 1);
  checkpoint.set_first_seq(state.last ? state.last->last_seq() + 1 : 1);
  checkpoint.set_previous_signature(state.last ? state.last->signature() : "");
  std::string previous =
      state.last ? state.last->head_hash() : GenesisHash(*chain_start);
  Statement events(db, ChainEventQuery());
  if (!events.status().ok()) return events.status();
  events.Bind(1, checkpoint.first_seq() - 1);
  events.Bind(2, to < 0 ? int64_t{-1} : to - checkpoint.first_seq() + 1);
  int rc;
  bool first = !state.last;
  while ((rc = events.Step()) == SQLITE_ROW) {
    const ChainEvent event = ReadEvent(events, /*whole_rows=*/false);
    if (absl::Status checked = CheckChainEvent(event, previous, first);
        !checked.ok()) {
      return absl::DataLossError(absl::StrCat(doing, " audit checkpoint ",
                                              checkpoint.number(), ": ",
                                              checked.message()));
    }
    first = false;
    previous = event.hash;
    checkpoint.set_last_seq(event.seq);
  }
  if (rc != SQLITE_DONE) return events.Error("reading the chain");
  checkpoint.set_head_hash(previous);
  return checkpoint;
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

}  // namespace

absl::StatusOr<std::optional<v1::AuditCheckpoint>> AuditStore::SignCheckpoint(
    const CheckpointSigner& signer, absl::Time now,
    const std::optional<v1::AuditCheckpoint>& signed_last,
    const std::function<absl::Status(const v1::AuditCheckpoint&)>&
        before_commit) {
  std::optional<v1::AuditCheckpoint> signed_checkpoint;
  absl::MutexLock lock(&write_mutex_);
  absl::Status status = InTransaction(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_) -> absl::Status {
        absl::StatusOr<CheckpointState> state = ReadCheckpointState(db_);
        if (!state.ok()) return state.status();
        if (state->last.has_value() != signed_last.has_value() ||
            (state->last.has_value() &&
             !SameCheckpoint(*state->last, *signed_last))) {
          return absl::DataLossError(absl::StrCat(
              "refusing to sign: the audit log's newest checkpoint is ",
              state->last ? absl::StrCat("number ", state->last->number())
                          : std::string("missing"),
              ", not the one signed last (",
              signed_last ? absl::StrCat("number ", signed_last->number())
                          : std::string("none"),
              "): checkpoints were deleted or replaced in the database"));
        }
        if (state->unsigned_events == 0) return absl::OkStatus();
        // What is signed is checked first: a row edited (and its chain
        // recomputed) before the controller got to sign it is refused, not
        // signed into the record.
        absl::StatusOr<v1::AuditCheckpoint> checkpoint =
            CheckedTail(db_, *state, -1, "refusing to sign");
        if (!checkpoint.ok()) return checkpoint.status();
        checkpoint->set_signed_at_ms(absl::ToUnixMillis(now));
        if (absl::Status sign = signer.Sign(*checkpoint); !sign.ok())
          return sign;
        if (absl::Status inserted = InsertCheckpoint(db_, *checkpoint);
            !inserted.ok())
          return inserted;
        if (before_commit) {
          if (absl::Status done = before_commit(*checkpoint); !done.ok())
            return done;
        }
        signed_checkpoint = *std::move(checkpoint);
        return absl::OkStatus();
      });
  if (!status.ok()) return WithSpaceHint(status, path_);
  return signed_checkpoint;
}

absl::Status AuditStore::AdoptCheckpoint(
    const v1::AuditCheckpoint& checkpoint) {
  absl::MutexLock lock(&write_mutex_);
  absl::Status status = InTransaction(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_) -> absl::Status {
        absl::StatusOr<CheckpointState> state = ReadCheckpointState(db_);
        if (!state.ok()) return state.status();
        absl::StatusOr<v1::AuditCheckpoint> tail =
            CheckedTail(db_, *state, checkpoint.last_seq(), "cannot take back");
        if (!tail.ok()) return tail.status();
        if (tail->number() != checkpoint.number() ||
            tail->first_seq() != checkpoint.first_seq() ||
            tail->last_seq() != checkpoint.last_seq() ||
            tail->previous_signature() != checkpoint.previous_signature() ||
            tail->head_hash() != checkpoint.head_hash()) {
          return absl::DataLossError(absl::StrCat(
              "checkpoint ", checkpoint.number(), " (events ",
              checkpoint.first_seq(), " to ", checkpoint.last_seq(),
              ") does not follow the database's checkpoints and chain: its "
              "events or the checkpoint before it were changed or cut off"));
        }
        return InsertCheckpoint(db_, checkpoint);
      });
  return WithSpaceHint(status, path_);
}

absl::StatusOr<std::string> AuditStore::Verify(const VerifyOptions& options) {
  return VerifyAuditLog(path_, options);
}

absl::StatusOr<CheckpointState> AuditStore::GetCheckpointState() {
  return ReadCheckpointState(db_);
}

absl::StatusOr<std::vector<v1::AuditCheckpoint>> AuditStore::Checkpoints(
    int64_t after) {
  return ReadCheckpoints(db_, after);
}

absl::StatusOr<std::vector<v1::ExportAuditItem>> AuditStore::Export(
    const AuditCursor& after, int limit) {
  return ExportAuditEvents(db_, after, limit);
}

absl::StatusOr<std::vector<v1::AuditEntry>> AuditStore::Query(
    const v1::AuditQuery& filter) {
  return QueryAuditRows(db_, filter);
}

absl::StatusOr<int64_t> AuditStore::SettleInterrupted(absl::Time now) {
  v1::AuditQuery pending;
  pending.set_outcome(v1::OUTCOME_PENDING);
  // In bounded batches, each one transaction: a log left with a large
  // fan-out cut off is settled without holding it all in memory.
  pending.set_limit(1000);
  int64_t settled = 0;
  while (true) {
    absl::StatusOr<std::vector<v1::AuditEntry>> rows = Query(pending);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return settled;
    std::vector<std::pair<int64_t, v1::AuditResult>> results;
    for (const v1::AuditEntry& row : *rows) {
      v1::AuditResult result;
      result.set_outcome(v1::OUTCOME_UNKNOWN);
      result.set_finished_at_ms(absl::ToUnixMillis(now));
      result.set_error_code("UNAVAILABLE");
      result.set_message(absl::StrCat(
          "the controller stopped before ", row.intent().host(),
          " answered (killed or restarted mid-call); whether it ran is in ",
          "the host's own journal: opsctl audit reconcile --host ",
          row.intent().host()));
      results.emplace_back(row.id(), std::move(result));
    }
    if (absl::Status done = Commit({}, results).status(); !done.ok())
      return done;
    settled += static_cast<int64_t>(results.size());
  }
}

}  // namespace opsagent
