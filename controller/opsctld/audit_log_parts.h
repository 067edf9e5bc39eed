#ifndef OPSAGENT_CONTROLLER_OPSCTLD_AUDIT_LOG_PARTS_H_
#define OPSAGENT_CONTROLLER_OPSCTLD_AUDIT_LOG_PARTS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "controller/audit/audit_store.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// The team's audit log as opsctld's configuration chooses it: the SQLite
// file `audit_database` (a connection that writes, and one that reads, so
// that queries do not wait on a fan-out's commits), or PostgreSQL
// (`postgresql`), one log for several controllers, whose store keeps its
// own reading connection.
struct AuditLogParts {
  std::unique_ptr<AuditStore> writer;
  std::unique_ptr<AuditStore> reader;  // null: the writer reads too

  AuditStore* read() const { return reader ? reader.get() : writer.get(); }
};

// The connection string in postgresql.conninfo_file (owner-only: it may
// carry a password). Errors name the field.
absl::StatusOr<std::string> ReadPostgresConnInfo(
    const v1::PostgresStoreConfig& config);

absl::StatusOr<AuditLogParts> OpenAuditLog(const v1::OpsctldConfig& config);

// `opsctld --migrate_audit_from=FILE`: the SQLite team log FILE copied
// into the configuration's (empty) PostgreSQL log (log_migration.h), then
// verified there with the checkpoint key and the checkpoints exported so
// far; returns what was copied and the verification's report. Errors name
// the field or the step.
absl::StatusOr<std::string> MigrateAuditLog(const v1::OpsctldConfig& config,
                                            const std::string& sqlite_path);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_OPSCTLD_AUDIT_LOG_PARTS_H_
