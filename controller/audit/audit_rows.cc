#include "controller/audit/audit_rows.h"

#include "absl/strings/str_cat.h"

namespace opsagent {

const char kRecordColumns[] =
    "a.id, a.request_id, a.run_id, a.started_at_ms, a.os_user, "
    "a.cert_identity, a.host, a.address, a.operation, a.parameters, "
    "a.reason, a.incident, a.dry_run, a.mutating, a.outcome, "
    "a.finished_at_ms, a.error_code, a.message, a.result_summary, a.os_uid, "
    "a.sudo_user, a.result_json, a.agent_result_sha256, a.agent_signature, "
    "a.ticket";

const char kCheckpointColumns[] =
    "number, first_seq, last_seq, head_hash, previous_signature, "
    "signed_at_ms, key_id, signature";

namespace {

// The columns of ChainEventQuery before the row's.
constexpr int kEventColumnCount = 7;

}  // namespace

AuditRecord ReadRecord(const Statement& row, int first, int parts) {
  auto text = [&](int i) { return row.Text(first + i); };
  auto number = [&](int i) { return row.Int(first + i); };
  AuditRecord record;
  record.id = number(0);
  record.outcome = ParseOutcome(text(14)).value_or(v1::OUTCOME_UNKNOWN);
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

absl::StatusOr<std::vector<AuditCheckpoint>> ReadCheckpoints(sqlite3* db,
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

int64_t ChainEvent::time_ms() const {
  if (!record) return 0;
  return event == "outcome" && record->result ? record->result->finished_at_ms
                                              : record->intent.started_at_ms;
}

std::string ChainEventQuery() {
  return absl::StrCat(
      "SELECT c.seq, c.action_id, c.event, c.digest, c.prev_hash, c.hash, "
      "a.id IS NOT NULL, ",
      kRecordColumns,
      " FROM audit_chain c LEFT JOIN actions a ON a.id = c.action_id WHERE "
      "c.seq > ?1 ORDER BY c.seq LIMIT ?2");
}

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

}  // namespace opsagent
