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
// before still match. Rows left pending in the file are marked as
// `controller`'s, which settles them at its next start. The SQLite file is
// read in one snapshot and never written. FAILED_PRECONDITION when the
// target already holds rows or the file's schema is not this release's.
absl::StatusOr<MigratedLog> MigrateSqliteLogToPostgres(
    const std::string& sqlite_path, const std::string& conninfo,
    const std::string& controller);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_LOG_MIGRATION_H_
