#ifndef OPSAGENT_CONTROLLER_AUDIT_CHECKPOINT_TAIL_H_
#define OPSAGENT_CONTROLLER_AUDIT_CHECKPOINT_TAIL_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_reader.h"
#include "controller/audit/audit_rows.h"

namespace opsagent {

// Signing the chain's unsigned tail, and taking back an exported checkpoint
// the database lacks: the checks both rest on, written once for every
// store. Each store runs these inside its own write transaction and gives
// them its way of reading events and of inserting a checkpoint.

// Calls `visit` with the chain events after seq `after`, in order, at most
// `limit` of them (-1: all), each with the part of its row it covers.
using ChainEventReader = std::function<absl::Status(
    int64_t after, int64_t limit,
    const std::function<absl::Status(const ChainEvent&)>& visit)>;
using CheckpointInserter =
    std::function<absl::Status(const v1::AuditCheckpoint&)>;

// The log as a transaction sees it.
struct TailContext {
  CheckpointState state;
  int64_t chain_start = 0;
  ChainEventReader read;
  CheckpointInserter insert;
};

// AuditStore::SignCheckpoint's work: refuses (DATA_LOSS) when the newest
// checkpoint is not `signed_last`; nothing when no event is unsigned;
// otherwise checks each unsigned event, signs their head, inserts the
// checkpoint and runs `before_commit`.
absl::StatusOr<std::optional<v1::AuditCheckpoint>> SignTail(
    const TailContext& log, const CheckpointSigner& signer, absl::Time now,
    const std::optional<v1::AuditCheckpoint>& signed_last,
    const std::function<absl::Status(const v1::AuditCheckpoint&)>&
        before_commit);

// AuditStore::AdoptCheckpoint's work.
absl::Status AdoptIntoTail(const TailContext& log,
                           const v1::AuditCheckpoint& checkpoint);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_CHECKPOINT_TAIL_H_
