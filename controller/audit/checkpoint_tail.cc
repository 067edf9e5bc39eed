#include "controller/audit/checkpoint_tail.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "controller/audit/audit_chain.h"
#include "controller/audit/audit_verifier.h"

namespace opsagent {
namespace {

// The chain's events after the newest checkpoint, checked one by one
// (CheckChainEvent): up to event `to` (-1: all of them). Fills in what a
// checkpoint of them says: its number, first and last event, previous
// signature and head. `doing` starts an error ("refusing to sign ...").
absl::StatusOr<v1::AuditCheckpoint> CheckedTail(const TailContext& log,
                                                int64_t to,
                                                absl::string_view doing) {
  const std::optional<v1::AuditCheckpoint>& last = log.state.last;
  v1::AuditCheckpoint checkpoint;
  checkpoint.set_number(last ? last->number() + 1 : 1);
  checkpoint.set_first_seq(last ? last->last_seq() + 1 : 1);
  checkpoint.set_previous_signature(last ? last->signature() : "");
  std::string previous =
      last ? last->head_hash() : GenesisHash(log.chain_start);
  bool first = !last;
  const absl::Status read = log.read(
      checkpoint.first_seq() - 1,
      to < 0 ? int64_t{-1} : to - checkpoint.first_seq() + 1,
      [&](const ChainEvent& event) -> absl::Status {
        if (absl::Status checked = CheckChainEvent(event, previous, first);
            !checked.ok()) {
          return absl::DataLossError(absl::StrCat(doing, " audit checkpoint ",
                                                  checkpoint.number(), ": ",
                                                  checked.message()));
        }
        first = false;
        previous = event.hash;
        checkpoint.set_last_seq(event.seq);
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  checkpoint.set_head_hash(previous);
  return checkpoint;
}

}  // namespace

absl::StatusOr<std::optional<v1::AuditCheckpoint>> SignTail(
    const TailContext& log, const CheckpointSigner& signer, absl::Time now,
    const std::optional<v1::AuditCheckpoint>& signed_last,
    const std::function<absl::Status(const v1::AuditCheckpoint&)>&
        before_commit) {
  const std::optional<v1::AuditCheckpoint>& newest = log.state.last;
  if (newest.has_value() != signed_last.has_value() ||
      (newest.has_value() && !SameCheckpoint(*newest, *signed_last))) {
    return absl::DataLossError(absl::StrCat(
        "refusing to sign: the audit log's newest checkpoint is ",
        newest ? absl::StrCat("number ", newest->number())
               : std::string("missing"),
        ", not the one signed last (",
        signed_last ? absl::StrCat("number ", signed_last->number())
                    : std::string("none"),
        "): checkpoints were deleted or replaced in the database"));
  }
  if (log.state.unsigned_events == 0) return std::nullopt;
  // What is signed is checked first: a row edited (and its chain
  // recomputed) before the controller got to sign it is refused, not
  // signed into the record.
  absl::StatusOr<v1::AuditCheckpoint> checkpoint =
      CheckedTail(log, -1, "refusing to sign");
  if (!checkpoint.ok()) return checkpoint.status();
  checkpoint->set_signed_at_ms(absl::ToUnixMillis(now));
  if (absl::Status sign = signer.Sign(*checkpoint); !sign.ok()) return sign;
  if (absl::Status inserted = log.insert(*checkpoint); !inserted.ok())
    return inserted;
  if (before_commit) {
    if (absl::Status done = before_commit(*checkpoint); !done.ok()) return done;
  }
  return *std::move(checkpoint);
}

absl::Status AdoptIntoTail(const TailContext& log,
                           const v1::AuditCheckpoint& checkpoint) {
  absl::StatusOr<v1::AuditCheckpoint> tail =
      CheckedTail(log, checkpoint.last_seq(), "cannot take back");
  if (!tail.ok()) return tail.status();
  if (tail->number() != checkpoint.number() ||
      tail->first_seq() != checkpoint.first_seq() ||
      tail->last_seq() != checkpoint.last_seq() ||
      tail->previous_signature() != checkpoint.previous_signature() ||
      tail->head_hash() != checkpoint.head_hash()) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint ", checkpoint.number(), " (events ", checkpoint.first_seq(),
        " to ", checkpoint.last_seq(),
        ") does not follow the database's checkpoints and chain: its "
        "events or the checkpoint before it were changed or cut off"));
  }
  return log.insert(checkpoint);
}

}  // namespace opsagent
