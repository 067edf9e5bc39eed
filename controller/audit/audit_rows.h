#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_ROWS_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_record.h"

namespace opsagent {

// How the audit log's rows, chain events and checkpoints are read from its
// tables (audit_schema.h): the column lists and their readers, shared by
// queries, export, verification and signing so that they read alike.

// The columns a record is read from, in the order ReadRecord expects, of
// the table `actions` as `a`; PostgreSQL's add the controller
// (kSharedRecordColumns).
extern const char kRecordColumns[];
extern const char kSharedRecordColumns[];

// Which parts of a row to read: verification reads only what the event it
// checks covers (half the columns, a tenth less time on a million rows).
enum RecordParts { kIntentPart = 1, kOutcomePart = 2, kWholeRecord = 3 };

// The record whose columns (kRecordColumns) start at column `first` of
// `row`: a Statement (SQLite) or a PgResult::Row (PostgreSQL), which read
// alike (Text, Int, IsNull). `shared`: the row has kSharedRecordColumns.
template <typename Row>
v1::AuditEntry ReadRecord(const Row& row, int first, int parts = kWholeRecord,
                          bool shared = false) {
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
    if (shared) intent.set_controller(text(25));
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

// The columns of `audit_checkpoints`, in the order ReadCheckpoint expects.
extern const char kCheckpointColumns[];
template <typename Row>
v1::AuditCheckpoint ReadCheckpoint(const Row& row) {
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

// One chain event and the row it is about (if the row is still there).
struct ChainEvent {
  int64_t seq = 0;
  int64_t action_id = 0;
  std::string event;  // "intent" or "outcome"
  std::string digest;
  std::string prev_hash;
  std::string hash;
  std::optional<v1::AuditEntry> record;

  // When it was recorded, by its row.
  int64_t time_ms() const;
};

// Chain events with their rows (joined): those after seq `after`, in
// order, at most `limit`, both parameters written with `placeholder`
// ("?1", "?2" for SQLite; "$1", "$2" for PostgreSQL). SQLite takes a limit
// of -1 and PostgreSQL NULL for all of them.
// `shared`: of a log several controllers share, its rows with
// kSharedRecordColumns.
std::string ChainEventQuery(char placeholder = '?', bool shared = false);
// The event a row of ChainEventQuery holds; with `whole_rows` false, only
// the part of its row the event covers.
template <typename Row>
ChainEvent ReadEvent(const Row& row, bool whole_rows, bool shared = false) {
  // The columns of ChainEventQuery before the row's.
  constexpr int kEventColumnCount = 7;
  ChainEvent event{row.Int(0),  row.Int(1),  row.Text(2), row.Text(3),
                   row.Text(4), row.Text(5), std::nullopt};
  if (row.Int(6) != 0) {
    event.record = ReadRecord(
        row, kEventColumnCount,
        whole_rows ? kWholeRecord
                   : (event.event == "intent" ? kIntentPart : kOutcomePart),
        shared);
  }
  return event;
}

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_ROWS_H_
