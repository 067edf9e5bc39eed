#include "controller/audit/postgres_audit_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "controller/audit/audit_chain.h"
#include "controller/audit/audit_rows.h"
#include "controller/audit/checkpoint_tail.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// The tables, as SQLite's (audit_schema.cc) at schema 7 with PostgreSQL's
// types, plus the chain's head row and each row's controller.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS actions (
  id             BIGINT  PRIMARY KEY,
  request_id     TEXT    NOT NULL UNIQUE,
  run_id         TEXT    NOT NULL DEFAULT '',
  started_at_ms  BIGINT  NOT NULL,
  finished_at_ms BIGINT,
  duration_ms    BIGINT,
  os_user        TEXT    NOT NULL,
  os_uid         BIGINT,
  sudo_user      TEXT    NOT NULL DEFAULT '',
  cert_identity  TEXT    NOT NULL,
  host           TEXT    NOT NULL,
  address        TEXT    NOT NULL,
  operation      TEXT    NOT NULL,
  parameters     TEXT    NOT NULL DEFAULT '{}',
  reason         TEXT    NOT NULL DEFAULT '',
  incident       TEXT    NOT NULL DEFAULT '',
  dry_run        BIGINT  NOT NULL DEFAULT 0,
  mutating       BIGINT  NOT NULL DEFAULT 0,
  outcome        TEXT    NOT NULL DEFAULT 'pending'
                 CHECK (outcome IN ('pending','ok','error','denied','unreachable','unknown')),
  error_code     TEXT    NOT NULL DEFAULT '',
  message        TEXT    NOT NULL DEFAULT '',
  result_summary TEXT    NOT NULL DEFAULT '',
  result_json    TEXT    NOT NULL DEFAULT '',
  agent_result_sha256 TEXT NOT NULL DEFAULT '',
  agent_signature     TEXT NOT NULL DEFAULT '',
  ticket              TEXT NOT NULL DEFAULT '',
  controller          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS actions_by_time      ON actions (started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_host      ON actions (host, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_user      ON actions (os_user, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_identity  ON actions (cert_identity, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_operation ON actions (operation, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_outcome   ON actions (outcome, started_at_ms);
CREATE INDEX IF NOT EXISTS actions_by_incident  ON actions (incident, started_at_ms) WHERE incident != '';
CREATE INDEX IF NOT EXISTS actions_by_run       ON actions (run_id, started_at_ms) WHERE run_id != '';
CREATE INDEX IF NOT EXISTS actions_by_ticket    ON actions (ticket, started_at_ms) WHERE ticket != '';
CREATE INDEX IF NOT EXISTS actions_pending      ON actions (controller) WHERE outcome = 'pending';
CREATE TABLE IF NOT EXISTS audit_chain (
  seq       BIGINT PRIMARY KEY,
  action_id BIGINT NOT NULL,
  event     TEXT   NOT NULL CHECK (event IN ('intent', 'outcome')),
  digest    TEXT   NOT NULL,
  prev_hash TEXT   NOT NULL,
  hash      TEXT   NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  number             BIGINT PRIMARY KEY,
  first_seq          BIGINT NOT NULL,
  last_seq           BIGINT NOT NULL,
  head_hash          TEXT   NOT NULL,
  previous_signature TEXT   NOT NULL,
  signed_at_ms       BIGINT NOT NULL,
  key_id             TEXT   NOT NULL,
  signature          TEXT   NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
  singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
  seq       BIGINT  NOT NULL,
  action_id BIGINT  NOT NULL,
  hash      TEXT    NOT NULL
);
)sql";

// What pg_stat_activity shows for a controller's sessions: whose lease,
// whose name lock.
std::string SessionName(const std::string& controller) {
  return absl::StrCat("opsctld ", controller);
}

// pg_advisory_lock keys (two int4s): opsagent's, then what it guards.
constexpr char kSchemaLock[] = "SELECT pg_advisory_xact_lock(7061, 1)";
constexpr char kSigningLease[] = "SELECT pg_try_advisory_lock(7061, 2)";
// Held by each controller's writing session, under its name.
constexpr char kNameLock[] = "SELECT pg_try_advisory_lock(7062, hashtext($1))";

// Takes `controller`'s name lock on `db`'s session: FAILED_PRECONDITION
// when another session holds it.
absl::Status ClaimName(PgConnection& db, const std::string& controller) {
  ASSIGN_OR_RETURN(
      const PgResult named,
      db.Query("claiming this controller's name", kNameLock, {controller}));
  if (named.row(0).Int(0) != 0) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "another opsctld named \"", controller,
      "\" is using the audit log on PostgreSQL: give each controller its own "
      "postgresql.controller_name"));
}

// Rows (intents and outcomes) per statement: PostgreSQL takes at most
// 65,535 parameters in one, and an intent with its chain event takes 24.
constexpr size_t kRowsPerStatement = 2000;

struct ChainRow {
  int64_t seq;
  int64_t action_id;
  const char* event;
  std::string digest;
  std::string prev_hash;
  std::string hash;
};

// Builds one statement's parameters and their placeholders.
class Params {
 public:
  // "($1::bigint, $2, ...)" for one row of `values`, each cast by the
  // matching entry of `types` ("" for text).
  std::string Row(std::vector<PgParam> values,
                  const std::vector<const char*>& types) {
    std::string row = "(";
    for (size_t i = 0; i < values.size(); ++i) {
      params_.push_back(std::move(values[i]));
      absl::StrAppend(&row, i == 0 ? "" : ", ", "$", params_.size(), types[i]);
    }
    return row + ")";
  }
  std::vector<PgParam>& values() { return params_; }

 private:
  std::vector<PgParam> params_;
};

// What one statement writes: outcomes, intents (with their ids), the chain
// events of both (outcomes' first, in order) and where the head is after.
struct WriteSlice {
  std::vector<const std::pair<int64_t, v1::AuditResult>*> results;
  std::vector<const v1::AuditIntent*> intents;
  std::vector<int64_t> ids;
  std::vector<const ChainRow*> chain;
  int64_t head_action_id = 0;
};

// One statement (data-modifying CTEs): completes the outcomes' rows (each
// must be pending), inserts the intents' rows and every chain event, and
// moves the head; one round trip however many rows.
absl::Status WriteSliceOf(PgConnection& db, const WriteSlice& slice,
                          const std::string& controller) {
  Params params;
  std::vector<std::string> parts;
  if (!slice.results.empty()) {
    std::vector<std::string> rows;
    for (const auto* entry : slice.results) {
      const auto& [id, result] = *entry;
      rows.push_back(
          params.Row({PgInt(id), std::string(OutcomeName(result.outcome())),
                      PgInt(result.finished_at_ms()), result.error_code(),
                      result.message(), result.summary(), result.result_json(),
                      result.agent_result_sha256(), result.agent_signature()},
                     {"::bigint", "", "::bigint", "", "", "", "", "", ""}));
    }
    parts.push_back(absl::StrCat(
        "completed AS (UPDATE actions AS a SET outcome = v.outcome, "
        "finished_at_ms = v.finished, duration_ms = v.finished - "
        "a.started_at_ms, error_code = v.error_code, message = v.message, "
        "result_summary = v.summary, result_json = v.result_json, "
        "agent_result_sha256 = v.sha256, agent_signature = v.signature FROM "
        "(VALUES ",
        absl::StrJoin(rows, ", "),
        ") AS v (id, outcome, finished, error_code, message, summary, "
        "result_json, sha256, signature) WHERE a.id = v.id AND a.outcome = "
        "'pending' RETURNING a.id)"));
  }
  if (!slice.intents.empty()) {
    std::vector<std::string> rows;
    for (size_t i = 0; i < slice.intents.size(); ++i) {
      const v1::AuditIntent& intent = *slice.intents[i];
      rows.push_back(params.Row(
          {PgInt(slice.ids[i]), intent.request_id(), intent.run_id(),
           PgInt(intent.started_at_ms()), intent.os_user(),
           intent.cert_identity(), intent.host(), intent.address(),
           intent.operation(), intent.parameters_json(), intent.reason(),
           intent.incident(), PgInt(intent.dry_run()), PgInt(intent.mutating()),
           intent.has_os_uid() && intent.os_uid() >= 0 ? PgInt(intent.os_uid())
                                                       : PgParam(),
           intent.sudo_user(), intent.ticket(), controller},
          {"::bigint", "", "", "::bigint", "", "", "", "", "", "", "", "",
           "::bigint", "::bigint", "::bigint", "", "", ""}));
    }
    parts.push_back(absl::StrCat(
        "recorded AS (INSERT INTO actions (id, request_id, run_id, "
        "started_at_ms, os_user, cert_identity, host, address, operation, "
        "parameters, reason, incident, dry_run, mutating, os_uid, sudo_user, "
        "ticket, controller) VALUES ",
        absl::StrJoin(rows, ", "), ")"));
  }
  std::vector<std::string> events;
  for (const ChainRow* row : slice.chain) {
    events.push_back(params.Row(
        {PgInt(row->seq), PgInt(row->action_id), std::string(row->event),
         row->digest, row->prev_hash, row->hash},
        {"::bigint", "::bigint", "", "", "", ""}));
  }
  parts.push_back(absl::StrCat(
      "chained AS (INSERT INTO audit_chain (seq, action_id, event, digest, "
      "prev_hash, hash) VALUES ",
      absl::StrJoin(events, ", "), ")"));
  const ChainRow& last = *slice.chain.back();
  const std::string head =
      params.Row({PgInt(last.seq), PgInt(slice.head_action_id), last.hash},
                 {"::bigint", "::bigint", ""});
  ASSIGN_OR_RETURN(
      const PgResult written,
      db.Query(
          "recording",
          absl::StrCat(
              "WITH ", absl::StrJoin(parts, ", "),
              " UPDATE audit_head SET (seq, action_id, "
              "hash) = ",
              head, " RETURNING ",
              slice.results.empty() ? "0" : "(SELECT count(*) FROM completed)"),
          params.values()));
  if (written.rows() != 1) {
    return absl::DataLossError(
        "audit log on PostgreSQL: the chain's head row (audit_head) is "
        "missing: the table was changed outside opsctld");
  }
  if (written.row(0).Int(0) != static_cast<int64_t>(slice.results.size())) {
    std::vector<int64_t> ids;
    for (const auto* result : slice.results) ids.push_back(result->first);
    return absl::FailedPreconditionError(
        absl::StrCat("audit log: row ", absl::StrJoin(ids, ", "),
                     slice.results.size() == 1 ? " is" : ": one of them is",
                     " missing or already has an outcome"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::AuditCheckpoint>> ReadCheckpoints(
    PgConnection& db, int64_t after) {
  ASSIGN_OR_RETURN(const PgResult rows,
                   db.Query("reading the checkpoints",
                            absl::StrCat("SELECT ", kCheckpointColumns,
                                         " FROM audit_checkpoints WHERE "
                                         "number > $1 ORDER BY number"),
                            {PgInt(after)}));
  std::vector<v1::AuditCheckpoint> checkpoints;
  for (int i = 0; i < rows.rows(); ++i)
    checkpoints.push_back(ReadCheckpoint(rows.row(i)));
  return checkpoints;
}

absl::StatusOr<CheckpointState> ReadCheckpointState(PgConnection& db) {
  CheckpointState state;
  ASSIGN_OR_RETURN(const PgResult last,
                   db.Query("reading the checkpoints",
                            absl::StrCat("SELECT ", kCheckpointColumns,
                                         " FROM audit_checkpoints ORDER BY "
                                         "number DESC LIMIT 1")));
  if (last.rows() == 1) state.last = ReadCheckpoint(last.row(0));
  ASSIGN_OR_RETURN(const PgResult count,
                   db.Query("reading the chain",
                            "SELECT count(*) FROM audit_chain WHERE seq > $1",
                            {PgInt(state.last ? state.last->last_seq() : 0)}));
  state.unsigned_events = count.row(0).Int(0);
  return state;
}

absl::StatusOr<int64_t> ReadChainStart(PgConnection& db) {
  ASSIGN_OR_RETURN(const PgResult start,
                   db.Query("reading where the chain starts",
                            "SELECT value FROM audit_meta WHERE key = "
                            "'chain_start'"));
  int64_t chain_start = 0;
  if (start.rows() != 1 ||
      !absl::SimpleAtoi(start.row(0).Text(0), &chain_start)) {
    return absl::DataLossError(
        "the audit log's audit_meta.chain_start is missing or not a number");
  }
  return chain_start;
}

absl::Status ReadChainEvents(
    PgConnection& db, int64_t after, int64_t limit, bool whole_rows,
    const std::function<absl::Status(const ChainEvent&)>& visit) {
  ASSIGN_OR_RETURN(
      const PgResult rows,
      db.Query("reading the chain", ChainEventQuery('$', /*shared=*/true),
               {PgInt(after), limit < 0 ? PgParam() : PgInt(limit)}));
  for (int i = 0; i < rows.rows(); ++i)
    RETURN_IF_ERROR(visit(ReadEvent(rows.row(i), whole_rows, /*shared=*/true)));
  return absl::OkStatus();
}

// The log as a write transaction on `db` sees it, for checkpoint_tail.h.
absl::StatusOr<TailContext> Tail(PgConnection& db) {
  TailContext log;
  ASSIGN_OR_RETURN(log.state, ReadCheckpointState(db));
  ASSIGN_OR_RETURN(log.chain_start, ReadChainStart(db));
  log.read = [&db](int64_t after, int64_t limit, const auto& visit) {
    return ReadChainEvents(db, after, limit, /*whole_rows=*/false, visit);
  };
  log.insert = [&db](const v1::AuditCheckpoint& c) {
    return db.Exec(
        "recording the checkpoint",
        absl::StrCat("INSERT INTO audit_checkpoints (", kCheckpointColumns,
                     ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
        {PgInt(c.number()), PgInt(c.first_seq()), PgInt(c.last_seq()),
         c.head_hash(), c.previous_signature(), PgInt(c.signed_at_ms()),
         c.key_id(), c.signature()});
  };
  return log;
}

// One REPEATABLE READ, read-only transaction on a connection of its own:
// one snapshot of the log while the controllers keep writing. The chain
// and the rows are read through cursors, a page at a time.
class PostgresSnapshot final : public AuditSnapshot {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresSnapshot>> Open(
      const std::string& conninfo) {
    ASSIGN_OR_RETURN(
        std::unique_ptr<PgConnection> db,
        PgConnection::Connect(conninfo, "audit log on PostgreSQL (verify)"));
    RETURN_IF_ERROR(
        db->Exec("starting a snapshot",
                 "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    return std::unique_ptr<PostgresSnapshot>(
        new PostgresSnapshot(std::move(db)));
  }

  absl::StatusOr<int64_t> ChainStart() override { return ReadChainStart(*db_); }
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> Checkpoints() override {
    return ReadCheckpoints(*db_, 0);
  }
  absl::StatusOr<int64_t> MaxRowId() override {
    ASSIGN_OR_RETURN(const PgResult max,
                     db_->Query("reading the rows",
                                "SELECT coalesce(max(id), 0) FROM actions"));
    return max.row(0).Int(0);
  }
  absl::Status ForEachEvent(
      const std::function<absl::Status(const ChainEvent&)>& visit) override {
    const std::string query = absl::StrReplaceAll(
        ChainEventQuery('$', /*shared=*/true), {{"$1", "0"}, {"$2", "ALL"}});
    return ForEachInCursor(query, [&](const PgResult::Row& row) {
      return visit(ReadEvent(row, /*whole_rows=*/false, /*shared=*/true));
    });
  }
  absl::Status ForEachRow(
      const std::function<absl::Status(int64_t, bool)>& visit) override {
    return ForEachInCursor(
        "SELECT id, outcome = 'pending' FROM actions ORDER BY id",
        [&](const PgResult::Row& row) {
          return visit(row.Int(0), row.Int(1) != 0);
        });
  }
  // PostgreSQL keeps its indexes itself, and its columns' types: a value
  // of another type cannot be stored, and an index the planner cannot
  // prove complete for a query is not used for it.
  absl::Status CheckIndexes() override { return absl::OkStatus(); }

 private:
  explicit PostgresSnapshot(std::unique_ptr<PgConnection> db)
      : db_(std::move(db)) {}

  absl::Status ForEachInCursor(
      const std::string& query,
      const std::function<absl::Status(const PgResult::Row&)>& visit) {
    RETURN_IF_ERROR(
        db_->Exec("reading the log",
                  absl::StrCat("DECLARE walk NO SCROLL CURSOR FOR ", query)));
    for (;;) {
      ASSIGN_OR_RETURN(const PgResult page,
                       db_->Query("reading the log", "FETCH 10000 FROM walk"));
      for (int i = 0; i < page.rows(); ++i) RETURN_IF_ERROR(visit(page.row(i)));
      if (page.rows() == 0) break;
    }
    return db_->Exec("reading the log", "CLOSE walk");
  }

  std::unique_ptr<PgConnection> db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresAuditStore>> PostgresAuditStore::Open(
    const std::string& conninfo, const std::string& controller) {
  // The team's record and the chain's head come from this server: only one
  // that proves who it is.
  RETURN_IF_ERROR(
      CheckServerIsAuthenticated(conninfo, "audit log on PostgreSQL"));
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer,
                   PgConnection::Connect(conninfo, "audit log on PostgreSQL",
                                         SessionName(controller)));
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> reader,
                   PgConnection::Connect(conninfo, "audit log on PostgreSQL",
                                         SessionName(controller)));
  // Two controllers starting on a new database create its tables one
  // after the other.
  absl::Status created = writer->Exec("starting", "BEGIN");
  if (created.ok()) created = writer->Exec("creating the tables", kSchemaLock);
  if (created.ok())
    created = writer->ExecScript("creating the tables", kSchema);
  if (created.ok()) {
    created = writer->Exec(
        "creating the tables",
        "INSERT INTO audit_meta VALUES ('chain_start', '0') ON CONFLICT DO "
        "NOTHING");
  }
  if (created.ok()) {
    created = writer->Exec(
        "creating the tables",
        "INSERT INTO audit_head (seq, action_id, hash) SELECT 0, 0, $1 "
        "WHERE NOT EXISTS (SELECT 1 FROM audit_head)",
        {GenesisHash(0)});
  }
  if (created.ok()) created = writer->Exec("creating the tables", "COMMIT");
  if (!created.ok()) {
    writer->Exec("rolling back", "ROLLBACK").IgnoreError();
    return created;
  }
  // Rows are settled by their controller's name: two controllers under one
  // would settle each other's calls in flight. The writing connection
  // holds the name for as long as it lives.
  RETURN_IF_ERROR(ClaimName(*writer, controller));
  return std::unique_ptr<PostgresAuditStore>(new PostgresAuditStore(
      conninfo, controller, std::move(writer), std::move(reader)));
}

PostgresAuditStore::PostgresAuditStore(std::string conninfo,
                                       std::string controller,
                                       std::unique_ptr<PgConnection> writer,
                                       std::unique_ptr<PgConnection> reader)
    : conninfo_(std::move(conninfo)),
      controller_(std::move(controller)),
      description_(absl::StrCat("PostgreSQL ", writer->Describe())),
      writer_(std::move(writer)),
      reader_(std::move(reader)),
      group_commit_([this](const auto& intents, const auto& results) {
        return CommitTransaction(intents, results);
      }) {}

template <typename Read>
auto PostgresAuditStore::WithReader(const Read& read)
    -> decltype(read(std::declval<PgConnection&>())) {
  absl::MutexLock lock(&read_mutex_);
  RETURN_IF_ERROR(reader_->Reconnect());
  auto result = read(*reader_);
  if (result.ok() || !reader_->broken()) return result;
  RETURN_IF_ERROR(reader_->Reconnect());
  return read(*reader_);
}

absl::Status PostgresAuditStore::InWriteTransaction(
    const std::function<absl::Status(PgConnection&, const ChainHead&)>& body) {
  if (!name_lost_.ok()) return name_lost_;
  // One round trip: the transaction starts, takes the head row, and then
  // (in a statement of its own, whose snapshot sees what the transaction
  // it waited for committed) reads the head and what checks it: the
  // chain's event at the head's seq, the highest row id, and the event at
  // the seq this controller wrote last.
  const std::string begin = absl::StrCat(
      "BEGIN; SELECT 1 FROM audit_head FOR UPDATE; SELECT h.seq, "
      "h.action_id, h.hash, (SELECT hash FROM audit_chain WHERE seq = "
      "h.seq), (SELECT coalesce(max(id), 0) FROM actions), (SELECT hash FROM "
      "audit_chain WHERE seq = ",
      last_written_.seq, ") FROM audit_head h");
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<PgResult> head = writer_->QueryScript("starting", begin);
    if (!head.ok() && writer_->broken()) {
      // Nothing was done yet: a connection the server's restart broke is
      // re-established here, and only here, and claims the name again.
      RETURN_IF_ERROR(writer_->Reconnect());
      if (absl::Status named = ClaimName(*writer_, controller_); !named.ok()) {
        name_lost_ = absl::FailedPreconditionError(absl::StrCat(
            named.message(),
            " (this controller's session was cut off and "
            "another took the name meanwhile): nothing more is recorded or "
            "relayed here; stop the other controller, then restart this "
            "one"));
        spdlog::critical("{}", std::string(name_lost_.message()));
        return name_lost_;
      }
      head = writer_->QueryScript("starting", begin);
    }
    status = head.status();
    std::optional<ChainHead> chain_head;
    if (status.ok()) {
      absl::StatusOr<ChainHead> checked = CheckHead(*head);
      status = checked.status();
      if (checked.ok()) chain_head = *checked;
    }
    if (status.ok()) status = body(*writer_, *chain_head);
    if (status.ok()) status = writer_->Exec("committing", "COMMIT");
    if (status.ok()) return status;
    writer_->Exec("rolling back", "ROLLBACK").IgnoreError();
    if (!absl::IsAborted(status)) return status;
  }
  return status;
}

absl::StatusOr<PostgresAuditStore::ChainHead> PostgresAuditStore::CheckHead(
    const PgResult& head) const {
  const auto changed = [](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(
        "audit log on PostgreSQL: ", what,
        ": the log was changed outside opsctld. Nothing more is recorded "
        "(or relayed) until it is put right; keep the database for the "
        "investigation (opsctl audit verify names the break), and use "
        "opsctl --direct meanwhile"));
  };
  if (head.rows() != 1) return changed("the chain's head row is missing");
  const PgResult::Row row = head.row(0);
  ChainHead found{row.Int(0), row.Int(1), row.Text(2)};
  if (found.seq > 0 ? (row.IsNull(3) || row.Text(3) != found.hash)
                    : !row.IsNull(3)) {
    return changed(absl::StrCat("the chain's head row (seq ", found.seq,
                                ") is not the chain's last event"));
  }
  if (row.Int(4) != found.action_id) {
    return changed(absl::StrCat("the chain's head row names row ",
                                found.action_id,
                                " as the last, the table's "
                                "last is ",
                                row.Int(4)));
  }
  if (last_written_.seq > 0 &&
      (row.IsNull(5) || row.Text(5) != last_written_.hash ||
       found.seq < last_written_.seq)) {
    return changed(absl::StrCat("chain event ", last_written_.seq,
                                ", which this controller wrote, was deleted "
                                "or rewritten"));
  }
  return found;
}

absl::StatusOr<std::vector<int64_t>> PostgresAuditStore::Commit(
    const std::vector<v1::AuditIntent>& intents,
    const std::vector<std::pair<int64_t, v1::AuditResult>>& results) {
  return group_commit_.Commit(intents, results);
}

absl::StatusOr<std::vector<int64_t>> PostgresAuditStore::CommitTransaction(
    const std::vector<const v1::AuditIntent*>& intents,
    const std::vector<const std::pair<int64_t, v1::AuditResult>*>& results) {
  std::vector<int64_t> ids;
  ChainHead written;
  absl::MutexLock lock(&write_mutex_);
  RETURN_IF_ERROR(InWriteTransaction(
      [&](PgConnection& db, const ChainHead& head) -> absl::Status {
        int64_t seq = head.seq;
        int64_t last_id = head.action_id;
        std::string hash = head.hash;
        std::vector<ChainRow> chain;
        chain.reserve(results.size() + intents.size());
        const auto chain_event = [&](int64_t id, const char* event,
                                     const std::string& canonical) {
          std::string digest = Sha256Hex(canonical);
          std::string next = ChainHash(hash, digest);
          chain.push_back(
              {++seq, id, event, std::move(digest), std::move(hash), next});
          hash = std::move(next);
        };
        for (const auto* result : results)
          chain_event(result->first, "outcome",
                      CanonicalOutcome(result->first, result->second));
        ids.clear();
        for (const v1::AuditIntent* intent : intents) {
          ids.push_back(++last_id);
          // The row names its controller, and its chain event covers that.
          v1::AuditIntent stamped = *intent;
          stamped.set_controller(controller_);
          chain_event(last_id, "intent", CanonicalIntent(last_id, stamped));
        }
        // In slices of kRowsPerStatement, in chain order (outcomes, then
        // intents), each moving the head to its last event.
        int64_t head_id = head.action_id;
        for (size_t first = 0; first < chain.size();
             first += kRowsPerStatement) {
          const size_t end = std::min(chain.size(), first + kRowsPerStatement);
          WriteSlice slice;
          for (size_t i = first; i < end; ++i) {
            slice.chain.push_back(&chain[i]);
            if (i < results.size()) {
              slice.results.push_back(results[i]);
            } else {
              slice.intents.push_back(intents[i - results.size()]);
              slice.ids.push_back(ids[i - results.size()]);
              head_id = ids[i - results.size()];
            }
          }
          slice.head_action_id = head_id;
          RETURN_IF_ERROR(WriteSliceOf(db, slice, controller_));
        }
        written = {seq, head_id, hash};
        return absl::OkStatus();
      }));
  // What this controller wrote last must stay in the chain.
  last_written_ = std::move(written);
  return ids;
}

absl::StatusOr<bool> PostgresAuditStore::HoldsSigningLease() {
  absl::MutexLock lock(&lease_mutex_);
  if (lease_ != nullptr && lease_held_) {
    // Held while its session lives; a query tells whether it still does.
    if (lease_->Exec("checking the signing lease", "SELECT 1").ok())
      return true;
    lease_held_ = false;
  }
  if (lease_ == nullptr) {
    ASSIGN_OR_RETURN(lease_, PgConnection::Connect(
                                 conninfo_, "audit log on PostgreSQL (lease)",
                                 SessionName(controller_)));
  } else {
    RETURN_IF_ERROR(lease_->Reconnect());
  }
  ASSIGN_OR_RETURN(const PgResult taken,
                   lease_->Query("taking the signing lease", kSigningLease));
  lease_held_ = taken.row(0).Int(0) != 0;
  return lease_held_;
}

absl::StatusOr<std::optional<v1::AuditCheckpoint>>
PostgresAuditStore::SignCheckpoint(
    const CheckpointSigner& signer, absl::Time now,
    const std::optional<v1::AuditCheckpoint>& signed_last,
    const std::function<absl::Status(const v1::AuditCheckpoint&)>&
        before_commit) {
  std::optional<v1::AuditCheckpoint> signed_checkpoint;
  absl::MutexLock lock(&write_mutex_);
  RETURN_IF_ERROR(InWriteTransaction([&](PgConnection& db,
                                         const ChainHead&) -> absl::Status {
    ASSIGN_OR_RETURN(const TailContext log, Tail(db));
    ASSIGN_OR_RETURN(signed_checkpoint,
                     SignTail(log, signer, now, signed_last, before_commit));
    return absl::OkStatus();
  }));
  return signed_checkpoint;
}

absl::Status PostgresAuditStore::AdoptCheckpoint(
    const v1::AuditCheckpoint& checkpoint) {
  absl::MutexLock lock(&write_mutex_);
  return InWriteTransaction(
      [&](PgConnection& db, const ChainHead&) -> absl::Status {
        ASSIGN_OR_RETURN(const TailContext log, Tail(db));
        return AdoptIntoTail(log, checkpoint);
      });
}

absl::StatusOr<std::string> PostgresAuditStore::Verify(
    const VerifyOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresSnapshot> snapshot,
                   PostgresSnapshot::Open(conninfo_));
  return VerifyAuditSnapshot(*snapshot, options);
}

absl::StatusOr<CheckpointState> PostgresAuditStore::GetCheckpointState() {
  return WithReader([](PgConnection& db) { return ReadCheckpointState(db); });
}

absl::StatusOr<std::vector<v1::AuditCheckpoint>>
PostgresAuditStore::Checkpoints(int64_t after) {
  return WithReader(
      [after](PgConnection& db) { return ReadCheckpoints(db, after); });
}

absl::StatusOr<std::vector<v1::ExportAuditItem>> PostgresAuditStore::Export(
    const AuditCursor& after, int limit) {
  return WithReader([&](PgConnection& db)
                        -> absl::StatusOr<std::vector<v1::ExportAuditItem>> {
    // Events and checkpoints from one snapshot.
    RETURN_IF_ERROR(db.Exec("exporting",
                            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    std::vector<ChainEvent> events;
    absl::Status read =
        ReadChainEvents(db, after.seq, limit,
                        /*whole_rows=*/true, [&](const ChainEvent& event) {
                          events.push_back(event);
                          return absl::OkStatus();
                        });
    absl::StatusOr<std::vector<v1::AuditCheckpoint>> checkpoints =
        read.ok() ? ReadCheckpoints(db, after.checkpoint)
                  : absl::StatusOr<std::vector<v1::AuditCheckpoint>>(read);
    db.Exec("exporting", "COMMIT").IgnoreError();
    if (!checkpoints.ok()) return checkpoints.status();
    return MergeExport(events, *checkpoints, after, limit);
  });
}

absl::StatusOr<std::vector<v1::AuditEntry>> PostgresAuditStore::Query(
    const v1::AuditQuery& filter) {
  const AuditQuerySql query = BuildAuditQuery(filter, '$', /*shared=*/true);
  std::vector<PgParam> params;
  for (const auto& value : query.params) {
    if (const int64_t* number = std::get_if<int64_t>(&value)) {
      params.push_back(PgInt(*number));
    } else {
      params.push_back(std::get<std::string>(value));
    }
  }
  return WithReader(
      [&](PgConnection& db) -> absl::StatusOr<std::vector<v1::AuditEntry>> {
        ASSIGN_OR_RETURN(const PgResult rows,
                         db.Query("querying", query.sql, params));
        std::vector<v1::AuditEntry> records;
        for (int i = 0; i < rows.rows(); ++i)
          records.push_back(
              ReadRecord(rows.row(i), 0, kWholeRecord, /*shared=*/true));
        return records;
      });
}

absl::StatusOr<std::vector<v1::AuditEntry>> PostgresAuditStore::OwnPending(
    int limit) {
  return WithReader(
      [&](PgConnection& db) -> absl::StatusOr<std::vector<v1::AuditEntry>> {
        ASSIGN_OR_RETURN(
            const PgResult rows,
            db.Query("reading the rows left pending",
                     absl::StrCat("SELECT ", kSharedRecordColumns,
                                  " FROM actions a WHERE a.outcome = "
                                  "'pending' AND a.controller IN ($1, '') "
                                  "ORDER BY a.id LIMIT $2"),
                     {controller_, PgInt(limit)}));
        std::vector<v1::AuditEntry> records;
        for (int i = 0; i < rows.rows(); ++i)
          records.push_back(
              ReadRecord(rows.row(i), 0, kWholeRecord, /*shared=*/true));
        return records;
      });
}

}  // namespace opsagent
