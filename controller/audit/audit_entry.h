#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_ENTRY_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_ENTRY_H_

#include "absl/status/statusor.h"
#include "controller/audit/audit_record.h"
#include "controller/audit/audit_store.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// An audit row as it travels between opsctld and opsctl (`opsctl audit`
// through the controller), and back.
v1::AuditEntry ToAuditEntry(const AuditRecord& record);
absl::StatusOr<AuditRecord> FromAuditEntry(const v1::AuditEntry& entry);

// An audit query as it travels, and back; an unknown outcome name is an
// error.
v1::AuditQuery ToAuditQuery(const AuditFilter& filter);
absl::StatusOr<AuditFilter> FromAuditQuery(const v1::AuditQuery& query);

// A checkpoint as it travels.
v1::AuditCheckpoint ToProto(const AuditCheckpoint& checkpoint);
AuditCheckpoint FromProto(const v1::AuditCheckpoint& checkpoint);

// An export line as it travels, and back; a bad cursor or outcome is an
// error.
v1::ExportAuditItem ToExportItem(const AuditExportItem& item);
absl::StatusOr<AuditExportItem> FromExportItem(const v1::ExportAuditItem& item);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_ENTRY_H_
