#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_READER_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_record.h"
#include "controller/audit/audit_rows.h"

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

// The SQL of `opsctl audit`'s query for `filter` (rows oldest first: the
// newest `filter.limit()` (0: 100), every field set narrowing; an operator
// name matches the OS user or the certificate identity), with its
// parameters in order, written with `placeholder` ("?1" for SQLite, "$1"
// for PostgreSQL). Its rows are kRecordColumns (ReadRecord at column 0).
struct AuditQuerySql {
  std::string sql;
  std::vector<std::variant<int64_t, std::string>> params;
};
// `shared`: of a log several controllers share (kSharedRecordColumns).
AuditQuerySql BuildAuditQuery(const v1::AuditQuery& filter, char placeholder,
                              bool shared = false);

// What `opsctl audit export` returns for a page: `events` (read after
// `after.seq`, at most `limit`) and the checkpoints numbered above
// `after.checkpoint`, merged in order (a checkpoint follows the event it
// signs), at most `limit` items.
std::vector<v1::ExportAuditItem> MergeExport(
    const std::vector<ChainEvent>& events,
    const std::vector<v1::AuditCheckpoint>& checkpoints,
    const AuditCursor& after, int limit);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_READER_H_
