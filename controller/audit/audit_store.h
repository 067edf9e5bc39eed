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
#include "absl/time/time.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_reader.h"
#include "controller/audit/audit_record.h"
#include "controller/audit/audit_verifier.h"

namespace opsagent {

// The team's audit log: a row per action, written as an intent before the
// action is sent and completed with its outcome after, each write extending
// one hash chain (audit_chain.h) that signed checkpoints cover. Two
// implementations keep it: an SQLite file (the embedded default, one
// controller or opsctl --direct: sqlite_audit_store.h) and PostgreSQL (one
// log for several controllers: postgres_audit_store.h). Every method is
// safe to call from several threads; concurrent Commits are merged into
// shared transactions (group_commit.h). The schema is in docs/AUDIT.md.
class AuditStore {
 public:
  // Opens or creates the SQLite log at `path` (and its directory),
  // upgrading its schema.
  static absl::StatusOr<std::unique_ptr<AuditStore>> Open(
      const std::string& path);
  virtual ~AuditStore() = default;

  // Durably records that an action is about to be sent; returns the row id.
  // An error here means the action must not be sent.
  absl::StatusOr<int64_t> RecordIntent(const v1::AuditIntent& intent);

  // Completes the row written by RecordIntent.
  absl::Status RecordResult(int64_t id, const v1::AuditResult& result);

  // Both at once, in one transaction (one sync to disk), for a fan-out
  // through the controller: completes `results`, then records `intents`,
  // returning their row ids in order. Nothing is written if any fails.
  virtual absl::StatusOr<std::vector<int64_t>> Commit(
      const std::vector<v1::AuditIntent>& intents,
      const std::vector<std::pair<int64_t, v1::AuditResult>>& results) = 0;

  // Completes every row this process's controller left pending as
  // `unknown`, at `now`: for opsctld at its start, when no call it relays
  // is running, so a pending row is one whose controller was killed before
  // the agent answered, and would otherwise stay pending for good. Its
  // message names the host's journal (`opsctl audit reconcile`), which
  // holds what happened. Returns how many rows were completed. On a log
  // several controllers share, another controller's pending rows are its
  // own calls in flight and are left alone.
  absl::StatusOr<int64_t> SettleInterrupted(absl::Time now);

  // VerifyAuditLog (audit_verifier.h) of this log, in one snapshot.
  virtual absl::StatusOr<std::string> Verify(
      const VerifyOptions& options = {}) = 0;

  // Whether other controllers write this log too (PostgreSQL): checkpoints
  // in it that this process did not sign are then another controller's,
  // not a forgery to refuse.
  virtual bool shared_by_controllers() const { return false; }

  // Whether this process may sign checkpoints now. Always on a log of its
  // own; on a shared one, one controller at a time holds the right (a lease
  // that ends with its connection: a controller killed hands it on), so
  // that two never sign the same events.
  virtual absl::StatusOr<bool> HoldsSigningLease() = 0;

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
  virtual absl::StatusOr<std::optional<v1::AuditCheckpoint>> SignCheckpoint(
      const CheckpointSigner& signer, absl::Time now,
      const std::optional<v1::AuditCheckpoint>& signed_last,
      const std::function<absl::Status(const v1::AuditCheckpoint&)>&
          before_commit = nullptr) = 0;

  // Records `checkpoint` (exported, its signature already checked by the
  // caller) when the database lacks it: a commit that failed after the
  // export. It must be the next checkpoint, chained to the database's
  // newest, and the chain's events it covers must check and end in its
  // head; otherwise DATA_LOSS (they were changed or cut off).
  virtual absl::Status AdoptCheckpoint(
      const v1::AuditCheckpoint& checkpoint) = 0;

  // How many chain events no checkpoint covers yet, and the newest
  // checkpoint (if any).
  virtual absl::StatusOr<CheckpointState> GetCheckpointState() = 0;

  // The checkpoints numbered above `after`, in order.
  virtual absl::StatusOr<std::vector<v1::AuditCheckpoint>> Checkpoints(
      int64_t after = 0) = 0;

  // Up to `limit` events and checkpoints after `cursor`, in order.
  virtual absl::StatusOr<std::vector<v1::ExportAuditItem>> Export(
      const AuditCursor& after, int limit) = 0;

  // Rows matching `filter`, oldest first (the newest `filter.limit`).
  virtual absl::StatusOr<std::vector<v1::AuditEntry>> Query(
      const v1::AuditQuery& filter) = 0;

  // The SQLite file, or "" for a database server (nothing on this host's
  // disk to watch).
  virtual const std::string& path() const = 0;
  // Where the log is, for messages: the file, or the server and database.
  virtual std::string Describe() const = 0;

 protected:
  // The rows SettleInterrupted completes: pending, and this process's.
  virtual absl::StatusOr<std::vector<v1::AuditEntry>> OwnPending(int limit) = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_STORE_H_
