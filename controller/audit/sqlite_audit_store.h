#ifndef OPSAGENT_CONTROLLER_AUDIT_SQLITE_AUDIT_STORE_H_
#define OPSAGENT_CONTROLLER_AUDIT_SQLITE_AUDIT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_reader.h"
#include "controller/audit/audit_record.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/audit_verifier.h"
#include "controller/audit/group_commit.h"

struct sqlite3;

namespace opsagent {

// VerifyAuditSnapshot (audit_verifier.h) of the SQLite log at `path`, on a
// read-only connection of its own, in one read transaction.
absl::StatusOr<std::string> VerifyAuditLog(const std::string& path,
                                           const VerifyOptions& options);

// The audit log in one SQLite database (WAL, synchronous=FULL): the
// embedded default, for one controller and for opsctl --direct. Safe for
// several opsctl processes at once (SQLite's own locks serialize their
// transactions).
class SqliteAuditStore final : public AuditStore {
 public:
  // Opens or creates the database (and its directory), upgrading the schema.
  static absl::StatusOr<std::unique_ptr<SqliteAuditStore>> Open(
      const std::string& path);
  ~SqliteAuditStore() override;

  absl::StatusOr<std::vector<int64_t>> Commit(
      const std::vector<v1::AuditIntent>& intents,
      const std::vector<std::pair<int64_t, v1::AuditResult>>& results) override;
  absl::StatusOr<std::string> Verify(const VerifyOptions& options) override;
  absl::StatusOr<bool> HoldsSigningLease() override { return true; }
  absl::StatusOr<std::optional<v1::AuditCheckpoint>> SignCheckpoint(
      const CheckpointSigner& signer, absl::Time now,
      const std::optional<v1::AuditCheckpoint>& signed_last,
      const std::function<absl::Status(const v1::AuditCheckpoint&)>&
          before_commit) override;
  absl::Status AdoptCheckpoint(const v1::AuditCheckpoint& checkpoint) override;
  absl::StatusOr<CheckpointState> GetCheckpointState() override;
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> Checkpoints(
      int64_t after) override;
  absl::StatusOr<std::vector<v1::ExportAuditItem>> Export(
      const AuditCursor& after, int limit) override;
  absl::StatusOr<std::vector<v1::AuditEntry>> Query(
      const v1::AuditQuery& filter) override;
  const std::string& path() const override { return path_; }
  std::string Describe() const override { return path_; }

 protected:
  absl::StatusOr<std::vector<v1::AuditEntry>> OwnPending(int limit) override;

 private:
  SqliteAuditStore(sqlite3* db, std::string path);

  absl::Status Exec(const char* sql);
  // Runs `body` in one BEGIN IMMEDIATE transaction (rolled back on error).
  absl::Status InTransaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_);
  // One merged transaction of GroupCommit.
  absl::StatusOr<std::vector<int64_t>> CommitTransaction(
      const std::vector<const v1::AuditIntent*>& intents,
      const std::vector<const std::pair<int64_t, v1::AuditResult>*>& results);
  // The writes of one Commit.
  class Batch;
  // One connection is shared by a fan-out's threads; its transactions must
  // not interleave.
  absl::Mutex write_mutex_;
  sqlite3* db_;
  std::string path_;
  GroupCommit group_commit_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_SQLITE_AUDIT_STORE_H_
