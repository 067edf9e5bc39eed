#ifndef OPSAGENT_CONTROLLER_SERVER_AUDIT_CHECKPOINTER_H_
#define OPSAGENT_CONTROLLER_SERVER_AUDIT_CHECKPOINTER_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/append_only_file.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_store.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// opsctld's signer of audit checkpoints (on a log several controllers
// share, the one holding the store's signing lease signs, and the others
// follow what it signed into their own export files): every `every_events`
// chain events
// or `every_seconds` (whichever comes first) it signs the chain's head,
// appends the checkpoint to the export file (synced) and only then commits
// it to the database, so that no checkpoint is in the database without
// being outside it; it also goes to syslog. It stops by signing what is
// left. The export file survives a full filesystem
// (common/append_only_file.h): a checkpoint that cannot be appended leaves
// no torn line and is not signed; signing resumes once there is room.
class AuditCheckpointer {
 public:
  // Loads the key, then compares the database with the export file: a
  // database that lacks a checkpoint the file holds, or holds it changed,
  // is refused (swapped for an older copy, or cut at the end), and so is a
  // whole line of the file that is no checkpoint. A torn last line (a crash
  // mid-append) is cut off with a warning. Takes back the newest checkpoint
  // of the file when the database lacks it (a commit that failed after its
  // export) and the chain still ends in its head; exports what an earlier
  // release signed but did not export; signs the unsigned tail, and starts
  // signing. A file it cannot append to now (a
  // full filesystem) does not stop the start: the error is logged and the
  // export retried.
  static absl::StatusOr<std::unique_ptr<AuditCheckpointer>> Start(
      const v1::AuditCheckpointConfig& config, AuditStore* store);
  ~AuditCheckpointer();

  // The public half of the key, for verification.
  const CheckpointVerifier& verifier() const { return *verifier_; }
  // How old the oldest unsigned event may be: every_seconds and a minute.
  absl::Duration max_unsigned_age() const;
  // The checkpoints in the export file now (none without one).
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> Exported() const;

 private:
  AuditCheckpointer(const v1::AuditCheckpointConfig& config, AuditStore* store,
                    std::unique_ptr<CheckpointSigner> signer,
                    std::unique_ptr<CheckpointVerifier> verifier);

  // Compares the export file with the database, takes back the file's
  // newest checkpoint if the database lacks it, and queues what the file
  // lacks.
  absl::Status CatchUp();
  // Signs the unsigned tail, if any: exported first, then committed. On a
  // log several controllers share, only while this one holds the signing
  // lease, after following what the others signed.
  absl::Status Sign();
  // On a shared log: takes in the checkpoints other controllers signed
  // after this one's newest, each checked (the team's checkpoint key, its
  // number, events and previous signature following the one before), and
  // queues them for this controller's export file.
  absl::Status FollowOthers() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sign_mutex_);
  // On a shared log, for a controller without the lease: UNAVAILABLE (and
  // so logged) once events have waited longer than max_unsigned_age() with
  // no checkpoint from anyone, as when a session holds the lease and does
  // not sign.
  absl::Status CheckOthersSign() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sign_mutex_);
  // Appends the queued checkpoints to the export file, oldest first,
  // stopping at the first that cannot be (it stays queued).
  absl::Status ExportQueued() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sign_mutex_);
  // Sign() and ExportQueued(), the first error.
  absl::Status SignAndExport();
  void Loop();

  const v1::AuditCheckpointConfig config_;
  AuditStore* const store_;
  const std::unique_ptr<CheckpointSigner> signer_;
  const std::unique_ptr<CheckpointVerifier> verifier_;
  std::unique_ptr<AppendOnlyFile> export_file_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Time last_signed_ ABSL_GUARDED_BY(mutex_);
  std::string last_error_ ABSL_GUARDED_BY(mutex_);
  // The checkpoint this controller signed or exported last: the database's
  // newest must stay that one.
  std::optional<v1::AuditCheckpoint> signed_last_ ABSL_GUARDED_BY(sign_mutex_);
  // When a checkpoint last appeared that another controller signed.
  absl::Time others_signed_ ABSL_GUARDED_BY(sign_mutex_);
  // Signed by an earlier release, not yet in the export file, oldest
  // first.
  std::vector<v1::AuditCheckpoint> unexported_ ABSL_GUARDED_BY(sign_mutex_);
  // Exported, but its commit to the database failed: taken back before
  // anything more is signed.
  std::optional<v1::AuditCheckpoint> exported_uncommitted_
      ABSL_GUARDED_BY(sign_mutex_);
  absl::Mutex sign_mutex_;
  std::thread thread_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_AUDIT_CHECKPOINTER_H_
