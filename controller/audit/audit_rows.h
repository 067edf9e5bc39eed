#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_ROWS_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_ROWS_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/sqlite_statement.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_record.h"

namespace opsagent {

// How the audit log's rows, chain events and checkpoints are read from its
// tables (audit_schema.h): the column lists and their readers, shared by
// queries, export, verification and signing so that they read alike.

// The columns a record is read from, in the order ReadRecord expects, of
// the table `actions` as `a`.
extern const char kRecordColumns[];

// Which parts of a row to read: verification reads only what the event it
// checks covers (half the columns, a tenth less time on a million rows).
enum RecordParts { kIntentPart = 1, kOutcomePart = 2, kWholeRecord = 3 };

// The record whose columns (kRecordColumns) start at column `first`.
v1::AuditEntry ReadRecord(const Statement& row, int first,
                          int parts = kWholeRecord);

// The columns of `audit_checkpoints`, in the order ReadCheckpoint expects.
extern const char kCheckpointColumns[];
v1::AuditCheckpoint ReadCheckpoint(const Statement& row);
// The checkpoints numbered above `after`, in order.
absl::StatusOr<std::vector<v1::AuditCheckpoint>> ReadCheckpoints(sqlite3* db,
                                                                 int64_t after);

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

// Chain events with their rows (joined): those after seq ?1, in order, at
// most ?2 (-1: all).
std::string ChainEventQuery();
// The event a row of ChainEventQuery holds; with `whole_rows` false, only
// the part of its row the event covers.
ChainEvent ReadEvent(const Statement& row, bool whole_rows);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_ROWS_H_
