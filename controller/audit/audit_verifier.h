#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_VERIFIER_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_rows.h"

namespace opsagent {

// `opsctl audit verify`: checks an audit log's rows against its hash chain
// (audit_chain.h), the chain against its signed checkpoints
// (audit_checkpoint.h) and the checkpoints against the copies kept outside
// the database, so that any change made behind opsctl's back is named.

// What verification checks beyond the chain itself.
struct VerifyOptions {
  // A head printed by an earlier verify and kept elsewhere: it must still be
  // in the chain, or rows were deleted from the end (or rewritten).
  std::string expect_head;
  // Rows before the chain (a database upgraded from schema 1) are accepted
  // only when the operator states how many there were.
  int64_t accept_unchained = 0;
  // The controller's checkpoint key. A log that holds checkpoints is not
  // verified without it.
  const CheckpointVerifier* checkpoint_key = nullptr;
  // Checkpoints exported outside the database (opsctld's export file, a
  // SIEM's copy): each must be in the database as it was exported, so a
  // database swapped for an older copy, or cut at the end together with its
  // checkpoints, is caught.
  std::vector<v1::AuditCheckpoint> exported;
  // With checkpoints signed every N seconds, the oldest event no checkpoint
  // covers may be at most this old; older means the newest checkpoints were
  // deleted. Zero: not checked.
  absl::Duration max_unsigned_age = absl::ZeroDuration();
};

// Verifies the log at `path` on a read-only connection of its own, in one
// snapshot (rows appended meanwhile are not taken for rows inserted behind
// opsctl's back). OK with a summary ("N events verified; head HASH"), or
// DATA_LOSS naming the first row that was edited, deleted, inserted or
// reordered, a chain whose start was moved, rows the chain does not cover,
// an index that hides rows, or a pinned head that is gone. With
// checkpoints: also DATA_LOSS for a checkpoint deleted, forged or out of
// order, events a checkpoint signed that were rewritten or cut off the end,
// an exported checkpoint the database lacks or differs from, and an
// unsigned tail older than `max_unsigned_age` or dated before the newest
// checkpoint.
absl::StatusOr<std::string> VerifyAuditLog(const std::string& path,
                                           const VerifyOptions& options);

// Checks one event against the hash before it (`previous`; `first` for the
// chain's first event) and against its row: what verification and signing
// both rest on. DATA_LOSS naming the row otherwise.
absl::Status CheckChainEvent(const ChainEvent& event,
                             const std::string& previous, bool first);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_VERIFIER_H_
