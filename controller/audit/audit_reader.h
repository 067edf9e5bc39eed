#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_READER_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_READER_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_record.h"

namespace opsagent {

// What is read from an audit log for people and other systems: rows by
// filter (`opsctl audit`), the chain's events and checkpoints in order for
// a SIEM (`opsctl audit export`), and how far checkpoints have signed.

// Narrows an audit query; unset fields match everything.
struct AuditFilter {
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;
  std::string host;
  std::string operator_name;  // matches OS user or certificate identity
  std::string operation;
  std::optional<v1::Outcome> outcome;
  std::string incident;
  std::string ticket;
  std::string run_id;
  std::optional<int64_t> id;  // one row
  int limit = 100;
};

// Where `opsctl audit export` resumes: after chain event `seq` and
// checkpoint `checkpoint`. Written "SEQ.CHECKPOINT"; "" is the start.
struct AuditCursor {
  int64_t seq = 0;
  int64_t checkpoint = 0;

  std::string ToString() const;
  static absl::StatusOr<AuditCursor> Parse(absl::string_view text);
};

// One line of the export: a chain event with its row (for an intent, the
// row as the intent recorded it), or a checkpoint, which follows the event
// it signs.
struct AuditExportItem {
  AuditCursor cursor;  // to resume after this item
  std::optional<AuditCheckpoint> checkpoint;
  int64_t seq = 0;
  std::string event;  // "intent" or "outcome"
  std::string hash;
  AuditRecord record;
};

// How many chain events no checkpoint covers yet, and the newest
// checkpoint (if any).
struct CheckpointState {
  int64_t unsigned_events = 0;
  std::optional<AuditCheckpoint> last;
};

// Rows matching `filter`, oldest first (the newest `filter.limit`).
absl::StatusOr<std::vector<AuditRecord>> QueryAuditRows(
    sqlite3* db, const AuditFilter& filter);

// Up to `limit` events and checkpoints after `after`, in order.
absl::StatusOr<std::vector<AuditExportItem>> ExportAuditEvents(
    sqlite3* db, const AuditCursor& after, int limit);

absl::StatusOr<CheckpointState> ReadCheckpointState(sqlite3* db);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_READER_H_
