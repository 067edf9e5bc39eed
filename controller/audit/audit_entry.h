#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_ENTRY_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_ENTRY_H_

#include "absl/status/statusor.h"
#include "controller/audit/audit_record.h"
#include "controller/audit/audit_store.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// The team log's types travel as they are (controller.proto); these are the
// checks at either end.

// A row as opsctl receives it: an outcome this release does not know, or a
// result whose outcome is not the row's, is an error (DATA_LOSS), never
// shown as a success.
absl::Status CheckReceived(const v1::AuditEntry& entry);

// A query as opsctld answers it: an outcome this release does not know is an
// error; at most 100,000 rows (100 if no limit is given). (A filter field it
// does not know is refused before, as in every request: unknown_fields.h.)
absl::StatusOr<v1::AuditQuery> BoundedQuery(v1::AuditQuery query);

// An export line as opsctl receives it: its cursor must parse, and its row
// pass CheckReceived.
absl::Status CheckReceived(const v1::ExportAuditItem& item);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_ENTRY_H_
