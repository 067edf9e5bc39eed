#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_STORE_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_STORE_H_

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
#include "controller/audit/audit_verifier.h"

struct sqlite3;

namespace opsagent {

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
  absl::StatusOr<int64_t> RecordIntent(const v1::AuditIntent& intent);

  // Completes the row written by RecordIntent.
  absl::Status RecordResult(int64_t id, const v1::AuditResult& result);

  // Both at once, in one transaction (one sync to disk), for a fan-out
  // through the controller: completes `results`, then records `intents`,
  // returning their row ids in order. Nothing is written if any fails.
  absl::StatusOr<std::vector<int64_t>> Commit(
      const std::vector<v1::AuditIntent>& intents,
      const std::vector<std::pair<int64_t, v1::AuditResult>>& results);

  // Completes every row still pending as `unknown`, at `now`: for opsctld
  // at its start, when no call it relays is running, so a pending row is
  // one whose controller was killed before the agent answered, and would
  // otherwise stay pending for good. Its message names the host's journal
  // (`opsctl audit reconcile`), which holds what happened. Returns how many
  // rows were completed. Only for the process that alone writes the log.
  absl::StatusOr<int64_t> SettleInterrupted(absl::Time now);

  // VerifyAuditLog (audit_verifier.h) of this log.
  absl::StatusOr<std::string> Verify(const VerifyOptions& options = {});

  // Signs the chain's head if events were appended since the last
  // checkpoint, after re-checking those events; returns the new checkpoint,
  // or nothing if there was nothing to sign. `signed_last` is the
  // checkpoint the signer itself signed (or exported) last: the database's
  // newest must be that one, or nothing is signed (whoever writes the file
  // could otherwise delete checkpoints, rewrite the rows and have them
  // signed again under the same numbers).
  // `before_commit` (if given) runs with the signed checkpoint before it is
  // committed; an error from it leaves nothing signed (opsctld exports the
  // checkpoint there, so none is in the database without being outside it).
  absl::StatusOr<std::optional<v1::AuditCheckpoint>> SignCheckpoint(
      const CheckpointSigner& signer, absl::Time now,
      const std::optional<v1::AuditCheckpoint>& signed_last,
      const std::function<absl::Status(const v1::AuditCheckpoint&)>&
          before_commit = nullptr);

  // Records `checkpoint` (exported, its signature already checked by the
  // caller) when the database lacks it: a commit that failed after the
  // export. It must be the next checkpoint, chained to the database's
  // newest, and the chain's events it covers must check and end in its
  // head; otherwise DATA_LOSS (they were changed or cut off).
  absl::Status AdoptCheckpoint(const v1::AuditCheckpoint& checkpoint);

  // How many chain events no checkpoint covers yet, and the newest
  // checkpoint (if any).
  absl::StatusOr<CheckpointState> GetCheckpointState();

  // The checkpoints numbered above `after`, in order.
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> Checkpoints(
      int64_t after = 0);

  // Up to `limit` events and checkpoints after `cursor`, in order.
  absl::StatusOr<std::vector<v1::ExportAuditItem>> Export(
      const AuditCursor& after, int limit);

  // Rows matching `filter`, oldest first (the newest `filter.limit`).
  absl::StatusOr<std::vector<v1::AuditEntry>> Query(
      const v1::AuditQuery& filter);

  const std::string& path() const { return path_; }

 private:
  AuditStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  absl::Status Exec(const char* sql);
  // Runs `body` in one BEGIN IMMEDIATE transaction (rolled back on error).
  absl::Status InTransaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_);
  // The writes of one Commit.
  class Batch;
  // One connection is shared by a fan-out's threads; its transactions must
  // not interleave.
  absl::Mutex write_mutex_;
  sqlite3* db_;
  std::string path_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_STORE_H_
