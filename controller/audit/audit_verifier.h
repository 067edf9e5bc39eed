#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_VERIFIER_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_VERIFIER_H_

#include <cstdint>
#include <functional>
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

// A log as verification reads it: one consistent snapshot (rows appended
// meanwhile are not taken for rows inserted behind opsctl's back), read on
// a connection of its own.
class AuditSnapshot {
 public:
  virtual ~AuditSnapshot() = default;
  // audit_meta.chain_start: rows up to it predate the chain.
  virtual absl::StatusOr<int64_t> ChainStart() = 0;
  // Every checkpoint, in order.
  virtual absl::StatusOr<std::vector<v1::AuditCheckpoint>> Checkpoints() = 0;
  // The highest row id; 0 for none.
  virtual absl::StatusOr<int64_t> MaxRowId() = 0;
  // Every chain event in order, each with the part of its row it covers,
  // until `visit` fails.
  virtual absl::Status ForEachEvent(
      const std::function<absl::Status(const ChainEvent&)>& visit) = 0;
  // Every row in id order (its id, and whether it is still pending), until
  // `visit` fails; DATA_LOSS for a row the store shows was changed outside
  // opsctl (in SQLite, a value stored as another type than opsctl writes,
  // which hides the row from queries).
  virtual absl::Status ForEachRow(
      const std::function<absl::Status(int64_t id, bool pending)>& visit) = 0;
  // After ForEachRow: DATA_LOSS when the store's indexes hide rows from
  // `opsctl audit` (OK where the database keeps its indexes itself).
  virtual absl::Status CheckIndexes() = 0;
};

// Verifies `log`: OK with a summary ("N events verified; head HASH"), or
// DATA_LOSS naming the first row that was edited, deleted, inserted or
// reordered, a chain whose start was moved, rows the chain does not cover,
// an index that hides rows, or a pinned head that is gone. With
// checkpoints: also DATA_LOSS for a checkpoint deleted, forged or out of
// order, events a checkpoint signed that were rewritten or cut off the end,
// an exported checkpoint the database lacks or differs from, and an
// unsigned tail older than `max_unsigned_age` or dated before the newest
// checkpoint.
absl::StatusOr<std::string> VerifyAuditSnapshot(AuditSnapshot& log,
                                                const VerifyOptions& options);

// Checks one event against the hash before it (`previous`; `first` for the
// chain's first event) and against its row: what verification and signing
// both rest on. DATA_LOSS naming the row otherwise.
absl::Status CheckChainEvent(const ChainEvent& event,
                             const std::string& previous, bool first);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_VERIFIER_H_
