#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_SCHEMA_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_SCHEMA_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/sqlite_statement.h"

namespace opsagent {

// The audit log's tables and indexes (docs/AUDIT.md): created in a new
// database, and upgraded in place from every earlier version, so that a log
// written by any release is read and extended by this one.

inline constexpr int kAuditSchemaVersion = 7;

// Writers wait this long for one another (several operators' opsctl on one
// log, a loaded machine) before a write is refused.
inline constexpr int kAuditBusyTimeoutMs = 30000;

// Sets WAL and synchronous=FULL, then creates or upgrades the schema in one
// transaction. FAILED_PRECONDITION for a log of a newer schema than this
// release understands (it is not written); UNAVAILABLE for SQLite's errors,
// among them BUSY while another process sets up the same new file.
absl::Status CreateOrUpgradeSchema(sqlite3* db, const std::string& path);

// The schema version of the log at `path`, read without writing or creating
// anything (a copy kept as evidence). NOT_FOUND when there is no such
// file, INVALID_ARGUMENT when it is not an SQLite database.
absl::StatusOr<int64_t> ReadSchemaVersion(const std::string& path);

// audit_meta.chain_start: rows up to it predate the chain.
absl::StatusOr<int64_t> ChainStartOf(sqlite3* db);

// An index `opsctl audit` finds rows through, and the SQL condition on
// `actions` that says which rows it holds (every row, for all but the
// partial ones). Verification checks each holds exactly those rows.
struct AuditIndex {
  const char* name;
  const char* holds;
};
const std::vector<AuditIndex>& AuditIndexes();

// A column of `actions` and the storage class (SQLite's typeof) every value
// opsctl writes into it has: "text" or "integer", or either of those or
// "null" when `nullable`. SQLite lets anyone store any class in any column,
// and a value stored as another class (a host as a blob) reads back alike
// while no query matches it: verification checks each.
struct AuditColumn {
  const char* name;
  const char* type;
  bool nullable = false;
};
const std::vector<AuditColumn>& AuditColumns();

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_SCHEMA_H_
