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

v1::AuditEntry ReadRecord(const Statement& row, int first, int parts) {
  auto text = [&](int i) { return row.Text(first + i); };
  auto number = [&](int i) { return row.Int(first + i); };
  v1::AuditEntry record;
  record.set_id(number(0));
  record.set_outcome(ParseOutcome(text(14)).value_or(v1::OUTCOME_UNKNOWN));
  if (parts & kIntentPart) {
    v1::AuditIntent& intent = *record.mutable_intent();
    intent.set_request_id(text(1));
    intent.set_run_id(text(2));
    intent.set_started_at_ms(number(3));
    intent.set_os_user(text(4));
    intent.set_cert_identity(text(5));
    intent.set_host(text(6));
    intent.set_address(text(7));
    intent.set_operation(text(8));
    intent.set_parameters_json(text(9));
    intent.set_reason(text(10));
    intent.set_incident(text(11));
    intent.set_dry_run(number(12) != 0);
    intent.set_mutating(number(13) != 0);
    if (!row.IsNull(first + 19)) intent.set_os_uid(number(19));
    intent.set_sudo_user(text(20));
    intent.set_ticket(text(24));
  }
  if ((parts & kOutcomePart) && !row.IsNull(first + 15)) {
    v1::AuditResult& result = *record.mutable_result();
    result.set_outcome(record.outcome());
    result.set_finished_at_ms(number(15));
    result.set_error_code(text(16));
    result.set_message(text(17));
    result.set_summary(text(18));
    result.set_result_json(text(21));
    result.set_agent_result_sha256(text(22));
    result.set_agent_signature(text(23));
  }
  return record;
}

v1::AuditCheckpoint ReadCheckpoint(const Statement& row) {
  v1::AuditCheckpoint checkpoint;
  checkpoint.set_number(row.Int(0));
  checkpoint.set_first_seq(row.Int(1));
  checkpoint.set_last_seq(row.Int(2));
  checkpoint.set_head_hash(row.Text(3));
  checkpoint.set_previous_signature(row.Text(4));
  checkpoint.set_signed_at_ms(row.Int(5));
  checkpoint.set_key_id(row.Text(6));
  checkpoint.set_signature(row.Text(7));
  return checkpoint;
}

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

int64_t ChainEvent::time_ms() const {
  if (!record) return 0;
  return event == "outcome" && record->has_result()
             ? record->result().finished_at_ms()
             : record->intent().started_at_ms();
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
