#ifndef OPSAGENT_CONTROLLER_SERVER_AUDIT_CHECKPOINTER_H_
#define OPSAGENT_CONTROLLER_SERVER_AUDIT_CHECKPOINTER_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_store.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// opsctld's signer of audit checkpoints: every `every_events` chain events
// or `every_seconds` (whichever comes first) it signs the chain's head in
// the database and appends the checkpoint to the export file and/or
// syslog, outside the database. It stops by signing what is left.
class AuditCheckpointer {
 public:
  // Loads the key, then compares the database with the export file: a
  // database that lacks a checkpoint the file holds, or holds it changed,
  // is refused (swapped for an older copy, or cut at the end). Exports what
  // the file lacks (a stop between signing and exporting), signs the
  // unsigned tail, and starts signing.
  static absl::StatusOr<std::unique_ptr<AuditCheckpointer>> Start(
      const v1::AuditCheckpointConfig& config, AuditStore* store);
  ~AuditCheckpointer();

  // The public half of the key, for verification.
  const CheckpointVerifier& verifier() const { return *verifier_; }
  // How old the oldest unsigned event may be: every_seconds and a minute.
  absl::Duration max_unsigned_age() const;
  // The checkpoints in the export file now (none without one).
  absl::StatusOr<std::vector<AuditCheckpoint>> Exported() const;

 private:
  AuditCheckpointer(const v1::AuditCheckpointConfig& config, AuditStore* store,
                    std::unique_ptr<CheckpointSigner> signer,
                    std::unique_ptr<CheckpointVerifier> verifier);

  // Compares the export file with the database and exports what it lacks.
  absl::Status CatchUp();
  // Signs the unsigned tail, if any, and exports the checkpoint.
  absl::Status SignAndExport();
  absl::Status Export(const AuditCheckpoint& checkpoint);
  void Loop();

  const v1::AuditCheckpointConfig config_;
  AuditStore* const store_;
  const std::unique_ptr<CheckpointSigner> signer_;
  const std::unique_ptr<CheckpointVerifier> verifier_;
  int export_fd_ = -1;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Time last_signed_ ABSL_GUARDED_BY(mutex_);
  std::string last_error_ ABSL_GUARDED_BY(mutex_);
  // The checkpoint this controller signed or exported last: the database's
  // newest must stay that one.
  std::optional<AuditCheckpoint> signed_last_ ABSL_GUARDED_BY(sign_mutex_);
  absl::Mutex sign_mutex_;
  std::thread thread_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_AUDIT_CHECKPOINTER_H_
