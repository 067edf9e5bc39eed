#include "controller/server/audit_checkpointer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/trusted_path.h"
#include "controller/audit/checkpoint_file.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr absl::Duration kPollInterval = absl::Seconds(1);
constexpr absl::Duration kUnsignedGrace = absl::Minutes(1);
// A checkpoint line is about 500 bytes; a torn last line longer than this
// was not written by opsctld.
constexpr uint64_t kMaxLineBytes = 64 << 10;

// The export file's directory must be one only root or opsctld can change
// or create names in, and the file itself not a link nor writable by
// others. Opened to read too: a torn last line is found and cut off
// through it.
absl::StatusOr<std::unique_ptr<AppendOnlyFile>> OpenExportFile(
    const std::string& path) {
  if (absl::Status written = CheckWrittenFile(path); !written.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit_checkpoints.export_file ", path, ": ", written.message()));
  }
  // O_NONBLOCK: a FIFO planted at the path must not hold up the start.
  const int fd = open(
      path.c_str(),
      O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0640);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit_checkpoints.export_file ", path, ": ",
                     std::strerror(errno), errno == ELOOP ? " (a link)" : ""));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022) != 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "audit_checkpoints.export_file ", path,
        " must be a regular file owned by opsctld's user (or root) that "
        "nobody else can write"));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  auto file = std::make_unique<AppendOnlyFile>(
      fd, absl::StrCat("audit_checkpoints.export_file ", path));
  absl::StatusOr<uint64_t> torn = file->CutTornTail(kMaxLineBytes);
  if (!torn.ok()) return torn.status();
  if (*torn > 0) {
    spdlog::warn(
        "{}: cut off its torn last line ({} bytes without a newline: an "
        "append cut off by a crash); what the database holds is exported "
        "again",
        file->name(), *torn);
  }
  return file;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditCheckpointer>> AuditCheckpointer::Start(
    const v1::AuditCheckpointConfig& config, AuditStore* store) {
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer =
      CheckpointSigner::FromKeyFile(config.key_file());
  if (!signer.ok()) return signer.status();
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> verifier =
      CheckpointVerifier::FromPem((*signer)->public_key_pem());
  if (!verifier.ok()) return verifier.status();
  std::unique_ptr<AuditCheckpointer> checkpointer(new AuditCheckpointer(
      config, store, *std::move(signer), *std::move(verifier)));
  if (!config.export_file().empty()) {
    absl::StatusOr<std::unique_ptr<AppendOnlyFile>> file =
        OpenExportFile(config.export_file());
    if (!file.ok()) return file.status();
    checkpointer->export_file_ = *std::move(file);
  }
  if (config.syslog()) openlog("opsctld", LOG_PID, LOG_AUTHPRIV);
  if (absl::Status status = checkpointer->CatchUp(); !status.ok())
    return status;
  if (absl::Status status = checkpointer->Sign(); !status.ok()) return status;
  {
    absl::MutexLock sign_lock(&checkpointer->sign_mutex_);
    if (absl::Status status = checkpointer->ExportQueued(); !status.ok()) {
      spdlog::error("audit checkpoint: {}", std::string(status.message()));
      absl::MutexLock lock(&checkpointer->mutex_);
      checkpointer->last_error_ = std::string(status.message());
    }
  }
  checkpointer->thread_ = std::thread([c = checkpointer.get()] { c->Loop(); });
  return checkpointer;
}

AuditCheckpointer::AuditCheckpointer(
    const v1::AuditCheckpointConfig& config, AuditStore* store,
    std::unique_ptr<CheckpointSigner> signer,
    std::unique_ptr<CheckpointVerifier> verifier)
    : config_(config),
      store_(store),
      signer_(std::move(signer)),
      verifier_(std::move(verifier)),
      last_signed_(absl::Now()),
      others_signed_(absl::Now()) {}

AuditCheckpointer::~AuditCheckpointer() {
  if (thread_.joinable()) {
    {
      absl::MutexLock lock(&mutex_);
      stopping_ = true;
    }
    thread_.join();
    if (absl::Status status = SignAndExport(); !status.ok())
      spdlog::error("audit checkpoint at stop: {}",
                    std::string(status.message()));
  }
}

absl::Duration AuditCheckpointer::max_unsigned_age() const {
  return absl::Seconds(config_.every_seconds()) + kUnsignedGrace;
}

absl::StatusOr<std::vector<v1::AuditCheckpoint>> AuditCheckpointer::Exported()
    const {
  if (config_.export_file().empty()) return std::vector<v1::AuditCheckpoint>{};
  return ReadCheckpointFile(config_.export_file());
}

absl::Status AuditCheckpointer::CatchUp() {
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> exported = Exported();
  if (!exported.ok()) return exported.status();
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> stored =
      store_->Checkpoints();
  if (!stored.ok()) return stored.status();
  // The export is written before the database commits: its newest may be
  // one the database lacks (the commit failed after). Taken back when the
  // chain still ends in its head; otherwise it shows the cut.
  if (!exported->empty() &&
      exported->back().number() == static_cast<int64_t>(stored->size()) + 1 &&
      verifier_->Check(exported->back()).ok() &&
      store_->AdoptCheckpoint(exported->back()).ok()) {
    spdlog::warn(
        "audit checkpoint {} was exported but not committed: taken "
        "back into the database",
        exported->back().number());
    stored = store_->Checkpoints();
    if (!stored.ok()) return stored.status();
  }
  for (const v1::AuditCheckpoint& copy : *exported) {
    if (copy.number() < 1 ||
        copy.number() > static_cast<int64_t>(stored->size()) ||
        !SameCheckpoint((*stored)[copy.number() - 1], copy)) {
      return absl::DataLossError(absl::StrCat(
          "the audit log ", store_->Describe(), " does not hold checkpoint ",
          copy.number(), " as ", config_.export_file(),
          " exported it (signed at ",
          absl::FormatTime(absl::FromUnixMillis(copy.signed_at_ms())),
          "): the database was swapped for an older copy, or rows and "
          "checkpoints were cut off its end. Keep the database for the "
          "investigation; restoring a backup on purpose means moving the "
          "export file aside too"));
    }
  }
  const int64_t exported_to = exported->empty() ? 0 : exported->back().number();
  absl::MutexLock lock(&sign_mutex_);
  // Signed by a release that exported after committing, and not exported.
  for (const v1::AuditCheckpoint& checkpoint : *stored) {
    if (checkpoint.number() > exported_to) unexported_.push_back(checkpoint);
  }
  if (!stored->empty()) signed_last_ = stored->back();
  return absl::OkStatus();
}

absl::Status AuditCheckpointer::Sign() {
  absl::MutexLock sign_lock(&sign_mutex_);
  if (exported_uncommitted_.has_value()) {
    // Its number is taken outside: the database takes it back, or nothing
    // more is signed (a new one would fork the numbering).
    if (absl::Status adopted = store_->AdoptCheckpoint(*exported_uncommitted_);
        !adopted.ok())
      return adopted;
    signed_last_ = *std::exchange(exported_uncommitted_, std::nullopt);
  }
  if (store_->shared_by_controllers()) {
    // Taken before following: a signer that died after its last
    // checkpoint is followed up to it, and none signs after.
    absl::StatusOr<bool> holds = store_->HoldsSigningLease();
    if (!holds.ok()) return holds.status();
    if (absl::Status followed = FollowOthers(); !followed.ok()) return followed;
    if (!*holds) return CheckOthersSign();  // another controller signs
  }
  // Exported before it is committed: no checkpoint is in the database
  // without being outside it, so none can be cut from the database
  // unseen. While the file cannot take one, none is signed, and verify
  // reports the unsigned tail's age.
  std::optional<v1::AuditCheckpoint> exported;
  const auto export_first =
      [&](const v1::AuditCheckpoint& checkpoint)
          ABSL_EXCLUSIVE_LOCKS_REQUIRED(sign_mutex_) -> absl::Status {
    if (export_file_ == nullptr) return absl::OkStatus();
    if (absl::Status queued = ExportQueued(); !queued.ok()) return queued;
    if (absl::Status appended = export_file_->Append(
            CheckpointJson(checkpoint), AppendOnlyFile::Durability::kSynced);
        !appended.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "checkpoint ", checkpoint.number(),
          " is not signed: the export file cannot take it (retried at the "
          "next interval): ",
          appended.message()));
    }
    exported = checkpoint;
    return absl::OkStatus();
  };
  absl::StatusOr<std::optional<v1::AuditCheckpoint>> checkpoint =
      store_->SignCheckpoint(*signer_, absl::Now(), signed_last_, export_first);
  if (!checkpoint.ok()) {
    if (exported.has_value()) exported_uncommitted_ = exported;
    return checkpoint.status();
  }
  if (checkpoint->has_value()) signed_last_ = **checkpoint;
  {
    absl::MutexLock lock(&mutex_);
    last_signed_ = absl::Now();
  }
  if (!checkpoint->has_value()) return absl::OkStatus();
  spdlog::info("audit checkpoint {} signs events {} to {}",
               (*checkpoint)->number(), (*checkpoint)->first_seq(),
               (*checkpoint)->last_seq());
  if (config_.syslog()) {
    syslog(LOG_INFO, "audit checkpoint %s",
           CheckpointJson(**checkpoint).c_str());
  }
  return absl::OkStatus();
}

absl::Status AuditCheckpointer::ExportQueued() {
  if (export_file_ == nullptr) {  // syslog only: nothing to catch up on
    unexported_.clear();
    return absl::OkStatus();
  }
  size_t exported = 0;
  absl::Status status;
  for (const v1::AuditCheckpoint& checkpoint : unexported_) {
    status = export_file_->Append(CheckpointJson(checkpoint),
                                  AppendOnlyFile::Durability::kSynced);
    if (!status.ok()) {
      status = absl::UnavailableError(absl::StrCat(
          "checkpoint ", checkpoint.number(),
          " (signed by an earlier release) is not exported yet (retried "
          "every second): ",
          status.message()));
      break;
    }
    ++exported;
  }
  unexported_.erase(unexported_.begin(), unexported_.begin() + exported);
  return status;
}

absl::Status AuditCheckpointer::SignAndExport() {
  absl::Status signed_status = Sign();
  absl::MutexLock sign_lock(&sign_mutex_);
  absl::Status exported = ExportQueued();
  return signed_status.ok() ? exported : signed_status;
}

absl::Status AuditCheckpointer::FollowOthers() {
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> newer =
      store_->Checkpoints(signed_last_ ? signed_last_->number() : 0);
  if (!newer.ok()) return newer.status();
  for (const v1::AuditCheckpoint& checkpoint : *newer) {
    const std::optional<v1::AuditCheckpoint>& last = signed_last_;
    const bool follows =
        checkpoint.number() == (last ? last->number() + 1 : 1) &&
        checkpoint.first_seq() == (last ? last->last_seq() + 1 : 1) &&
        checkpoint.previous_signature() == (last ? last->signature() : "");
    absl::Status signature = verifier_->Check(checkpoint);
    if (!follows || !signature.ok()) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint ", checkpoint.number(), " in ", store_->Describe(),
          !signature.ok()
              ? absl::StrCat(" is not the team's: ", signature.message())
              : absl::StrCat(" does not follow checkpoint ",
                             last ? last->number() : 0,
                             " that this controller holds"),
          ": the shared log's checkpoints were replaced; nothing more is "
          "signed here"));
    }
    unexported_.push_back(checkpoint);
    signed_last_ = checkpoint;
    others_signed_ = absl::Now();
  }
  return absl::OkStatus();
}

absl::Status AuditCheckpointer::CheckOthersSign() {
  const absl::Duration waited = absl::Now() - others_signed_;
  if (waited <= max_unsigned_age()) return absl::OkStatus();
  absl::StatusOr<CheckpointState> state = store_->GetCheckpointState();
  if (!state.ok()) return state.status();
  if (state->unsigned_events == 0) {
    others_signed_ = absl::Now();  // nothing to sign: nobody is late
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "no controller has signed a checkpoint of ", store_->Describe(), " for ",
      absl::FormatDuration(absl::Trunc(waited, absl::Seconds(1))), " while ",
      state->unsigned_events,
      " event(s) wait: the signing lease is held by a session that does not "
      "sign (PostgreSQL: pg_locks, advisory lock 7061/2; pg_stat_activity "
      "names each opsctld's sessions). This controller takes over once that "
      "session ends"));
}

void AuditCheckpointer::Loop() {
  // The last signing attempt's outcome: a failure stands until a later
  // attempt succeeds, not until a pass that did not try (a refusal to sign
  // over an edited row is not cleared by the quiet seconds after it).
  absl::Status last_sign;
  for (;;) {
    absl::Time last_signed;
    {
      absl::MutexLock lock(&mutex_);
      if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_), kPollInterval))
        return;
      last_signed = last_signed_;
    }
    absl::Status status;
    if (store_->shared_by_controllers()) {
      // Another controller's checkpoints reach this one's export file too.
      absl::MutexLock sign_lock(&sign_mutex_);
      status = FollowOthers();
    }
    absl::StatusOr<CheckpointState> state = store_->GetCheckpointState();
    if (status.ok()) status = state.status();
    if (state.ok() && state->unsigned_events > 0 &&
        (state->unsigned_events >= config_.every_events() ||
         absl::Now() - last_signed >= absl::Seconds(config_.every_seconds()))) {
      last_sign = Sign();
      if (!last_sign.ok()) {
        // Retried at the next interval, not every second.
        absl::MutexLock lock(&mutex_);
        last_signed_ = absl::Now();
      }
    }
    if (status.ok()) status = last_sign;
    {
      // What the export file lacks is retried every second: appending a
      // line costs nothing when it fails.
      absl::MutexLock sign_lock(&sign_mutex_);
      if (absl::Status exported = ExportQueued(); status.ok())
        status = exported;
    }
    absl::MutexLock lock(&mutex_);
    const std::string error = status.ok() ? "" : std::string(status.message());
    if (error != last_error_) {
      if (!error.empty()) spdlog::error("audit checkpoint: {}", error);
      // Not "signed": the pass that clears an error may have had nothing to
      // sign yet.
      if (error.empty())
        spdlog::info("audit checkpoint: the error above no longer occurs");
      last_error_ = error;
    }
  }
}

}  // namespace opsagent
