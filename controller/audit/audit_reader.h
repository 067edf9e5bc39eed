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

// Where `opsctl audit export` resumes: after chain event `seq` and
// checkpoint `checkpoint`. Written "SEQ.CHECKPOINT"; "" is the start.
struct AuditCursor {
  int64_t seq = 0;
  int64_t checkpoint = 0;

  std::string ToString() const;
  static absl::StatusOr<AuditCursor> Parse(absl::string_view text);
};

// How many chain events no checkpoint covers yet, and the newest
// checkpoint (if any).
struct CheckpointState {
  int64_t unsigned_events = 0;
  std::optional<v1::AuditCheckpoint> last;
};

// Rows matching `filter`, oldest first: the newest `filter.limit()` (0:
// 100), every field set narrowing (an operator name matches the OS user or
// the certificate identity).
absl::StatusOr<std::vector<v1::AuditEntry>> QueryAuditRows(
    sqlite3* db, const v1::AuditQuery& filter);

// Up to `limit` events and checkpoints after `after`, in order.
absl::StatusOr<std::vector<v1::ExportAuditItem>> ExportAuditEvents(
    sqlite3* db, const AuditCursor& after, int limit);

absl::StatusOr<CheckpointState> ReadCheckpointState(sqlite3* db);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_READER_H_
