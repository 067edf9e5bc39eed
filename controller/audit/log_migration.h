#ifndef OPSAGENT_CONTROLLER_AUDIT_LOG_MIGRATION_H_
#define OPSAGENT_CONTROLLER_AUDIT_LOG_MIGRATION_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace opsagent {

// What a migration copied.
struct MigratedLog {
  int64_t rows = 0;
  int64_t events = 0;
  int64_t checkpoints = 0;
};

// Moves a team log from SQLite to PostgreSQL (one controller becoming
// several): copies the SQLite file's rows, chain events, checkpoints and
// chain start verbatim, in one transaction, into the PostgreSQL log at
// `conninfo`, which must hold no row yet (its tables made by
// PostgresAuditStore::Open), and moves the chain's head to the copy's end.
// Nothing is recomputed, so the chain and every signed checkpoint verify
// on PostgreSQL as they did on SQLite, and the checkpoints exported
// before still match. The copied rows name no controller (their chain
// events cover none): rows left pending in the file are settled by the
// next controller to start. The SQLite file is read in one snapshot and
// never written. FAILED_PRECONDITION when the target already holds rows or
// the file's schema is not this release's.
absl::StatusOr<MigratedLog> MigrateSqliteLogToPostgres(
    const std::string& sqlite_path, const std::string& conninfo);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_LOG_MIGRATION_H_
