#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_STORE_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/audit/audit_record.h"

struct sqlite3;

namespace opsagent {

// Narrows an audit query; unset fields match everything.
struct AuditFilter {
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;
  std::string host;
  std::string operator_name;  // matches OS user or certificate identity
  std::string operation;
  std::optional<AuditOutcome> outcome;
  std::string incident;
  std::string run_id;
  int limit = 100;
};

// The controller's audit log: one SQLite database (WAL, synchronous=FULL)
// holding a row per action, written as an intent before the action is sent
// and completed with its outcome after. Safe for several opsctl processes at
// once. The schema is in docs/AUDIT.md.
class AuditStore {
 public:
  // Opens or creates the database (and its directory), upgrading the schema.
  static absl::StatusOr<std::unique_ptr<AuditStore>> Open(
      const std::string& path);
  ~AuditStore();

  // Durably records that an action is about to be sent; returns the row id.
  // An error here means the action must not be sent.
  absl::StatusOr<int64_t> RecordIntent(const AuditIntent& intent);

  // Completes the row written by RecordIntent.
  absl::Status RecordResult(int64_t id, const AuditResult& result);

  // Rows matching `filter`, oldest first (the newest `filter.limit`).
  absl::StatusOr<std::vector<AuditRecord>> Query(const AuditFilter& filter);

  const std::string& path() const { return path_; }

 private:
  AuditStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  absl::Status Exec(const char* sql);

  sqlite3* db_;
  std::string path_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_STORE_H_
