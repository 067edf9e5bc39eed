#include "controller/audit/audit_verifier.h"

#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "controller/audit/audit_chain.h"

namespace opsagent {
namespace {

// How far an unsigned event's time may stray from when it could have been
// recorded (a group commit's wait, clocks).
constexpr int64_t kDatingSlackMs = 60 * 1000;

std::string FormatTime(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

// Chain events counted per row: 1 intent, 2 with its outcome. Row ids are
// dense (SQLite gives each new row the highest id + 1), so a vector indexed
// by id serves a million rows in a few megabytes; ids spread further (rows
// inserted behind opsctl's back) go to a map.
class EventCounts {
 public:
  EventCounts(int64_t first_id, int64_t last_id) : first_(first_id) {
    if (last_id >= first_id && last_id - first_id < kMaxDense)
      dense_.resize(last_id - first_id + 1);
  }
  void Add(int64_t id) {
    const int64_t at = id - first_;
    if (at >= 0 && at < static_cast<int64_t>(dense_.size())) {
      if (dense_[at] < 255) ++dense_[at];
    } else {
      ++sparse_[id];
    }
  }
  int Count(int64_t id) const {
    const int64_t at = id - first_;
    if (at >= 0 && at < static_cast<int64_t>(dense_.size())) return dense_[at];
    const auto found = sparse_.find(id);
    return found == sparse_.end() ? 0 : found->second;
  }

 private:
  static constexpr int64_t kMaxDense = int64_t{64} << 20;
  const int64_t first_;
  std::vector<uint8_t> dense_;
  absl::flat_hash_map<int64_t, int> sparse_;
};

absl::Status CheckChainStart(int64_t chain_start, int64_t accept_unchained) {
  if (chain_start == accept_unchained) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "rows 1 to ", chain_start,
      " are not covered by the hash chain (audit_meta.chain_start = ",
      chain_start,
      "). That is right only for rows written before the chain existed "
      "(schema 1); if you know this log was upgraded with exactly that "
      "many rows, verify with --accept-unchained ",
      chain_start, ". Otherwise the chain was cut and rows up to ", chain_start,
      " may have been edited"));
}

// The copies kept elsewhere: the database must hold each, unchanged.
absl::Status CheckExportedCopies(
    const std::vector<v1::AuditCheckpoint>& checkpoints,
    const std::vector<v1::AuditCheckpoint>& exported,
    const CheckpointVerifier& key) {
  for (const v1::AuditCheckpoint& copy : exported) {
    if (absl::Status signature = key.Check(copy); !signature.ok()) {
      return absl::DataLossError(
          absl::StrCat("the exported copy of ", signature.message(),
                       ": it proves nothing about the database"));
    }
    if (copy.number() > static_cast<int64_t>(checkpoints.size())) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint ", copy.number(), " (signed ",
          FormatTime(copy.signed_at_ms()), ", events to ", copy.last_seq(),
          ") was exported but the database ",
          checkpoints.empty()
              ? std::string("has no checkpoint")
              : absl::StrCat("ends at checkpoint ", checkpoints.size()),
          ": it was swapped for an older copy, or its newest rows and "
          "checkpoints were deleted"));
    }
    if (!SameCheckpoint(checkpoints[copy.number() - 1], copy)) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint ", copy.number(),
          " in the database differs from the copy exported: rewritten"));
    }
  }
  return absl::OkStatus();
}

// What walking the chain found.
struct ChainWalk {
  std::string head;
  int64_t events = 0;
  int64_t last_seq = 0;
  int64_t pinned_at = -1;  // the seq of the pinned head, if found
  int64_t first_unsigned_ms = 0;
  std::optional<EventCounts> seen;
};

// Walks the chain from its start: each event follows the one before and
// matches its row, and each checkpoint's head is where it says.
absl::StatusOr<ChainWalk> WalkChain(
    AuditSnapshot& log, int64_t chain_start,
    const std::vector<v1::AuditCheckpoint>& checkpoints,
    const std::string& expect_head) {
  ChainWalk walk;
  walk.head = GenesisHash(chain_start);
  absl::StatusOr<int64_t> max_id = log.MaxRowId();
  if (!max_id.ok()) return max_id.status();
  walk.seen.emplace(chain_start + 1, *max_id);
  size_t next_checkpoint = 0;
  const absl::Status read =
      log.ForEachEvent([&](const ChainEvent& event) -> absl::Status {
        if (absl::Status checked =
                CheckChainEvent(event, walk.head, walk.events == 0);
            !checked.ok())
          return checked;
        if (next_checkpoint < checkpoints.size()) {
          const v1::AuditCheckpoint& c = checkpoints[next_checkpoint];
          if (event.seq > c.last_seq()) {
            return absl::DataLossError(absl::StrCat(
                "event ", c.last_seq(), ", which checkpoint ", c.number(),
                " signed, is gone: events were deleted and the chain "
                "recomputed"));
          }
          if (event.seq == c.last_seq()) {
            if (event.hash != c.head_hash()) {
              return absl::DataLossError(absl::StrCat(
                  "events up to ", c.last_seq(),
                  " no longer end in the head that checkpoint ", c.number(),
                  " signed at ", FormatTime(c.signed_at_ms()),
                  ": rows were edited and the chain recomputed"));
            }
            ++next_checkpoint;
          }
        } else if (walk.first_unsigned_ms == 0) {
          walk.first_unsigned_ms = event.time_ms();
        }
        walk.seen->Add(event.action_id);
        walk.head = event.hash;
        walk.last_seq = event.seq;
        ++walk.events;
        if (event.hash == expect_head) walk.pinned_at = event.seq;
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  if (next_checkpoint < checkpoints.size()) {
    const v1::AuditCheckpoint& c = checkpoints.back();
    return absl::DataLossError(
        absl::StrCat("events ", walk.last_seq + 1, " to ", c.last_seq(),
                     " were deleted from the end: checkpoint ", c.number(),
                     " signed them at ", FormatTime(c.signed_at_ms())));
  }
  if (!expect_head.empty() && walk.pinned_at < 0) {
    return absl::DataLossError(absl::StrCat(
        "the pinned head ", expect_head,
        " is not in the chain: events up to it were deleted or rewritten "
        "(the chain now ends at ",
        walk.head, " after ", walk.events, " events)"));
  }
  return walk;
}

// Rows the chain does not know (inserted or completed behind opsctl's
// back, or with an id opsctl never gives), and what the store itself shows
// was changed behind its back (AuditSnapshot::ForEachRow, CheckIndexes).
absl::Status CheckRows(AuditSnapshot& log, int64_t chain_start,
                       const EventCounts& seen) {
  RETURN_IF_ERROR(log.ForEachRow([&](int64_t id, bool pending) -> absl::Status {
    if (id < 1) {
      return absl::DataLossError(absl::StrCat(
          "row ", id, " was inserted outside opsctl (its ids start at 1)"));
    }
    if (id <= chain_start) return absl::OkStatus();  // before the chain
    const int events = pending ? 1 : 2;
    const int count = seen.Count(id);
    if (count != events) {
      return absl::DataLossError(
          absl::StrCat("row ", id, " was ", count == 0 ? "inserted" : "changed",
                       " outside opsctl: the chain has ", count, " of its ",
                       events, " events"));
    }
    return absl::OkStatus();
  }));
  return log.CheckIndexes();
}

// Events no checkpoint covers were appended after the newest one was
// signed, and not in the future: a tail dated otherwise was edited (to look
// fresh, or to pass for older rows whose checkpoint was deleted). Nor may
// it be older than checkpoints are signed.
absl::Status CheckUnsignedTail(
    const ChainWalk& walk, const std::vector<v1::AuditCheckpoint>& checkpoints,
    const VerifyOptions& options) {
  const int64_t signed_to =
      checkpoints.empty() ? 0 : checkpoints.back().last_seq();
  if (walk.last_seq == signed_to) return absl::OkStatus();
  const int64_t first_ms = walk.first_unsigned_ms;
  if (options.checkpoint_key != nullptr) {
    if (!checkpoints.empty() &&
        first_ms + kDatingSlackMs < checkpoints.back().signed_at_ms()) {
      return absl::DataLossError(absl::StrCat(
          "event ", signed_to + 1, ", recorded ", FormatTime(first_ms),
          ", is in no checkpoint although it is dated before the newest one (",
          FormatTime(checkpoints.back().signed_at_ms()),
          "): back-dated, or the checkpoint that signed it was deleted"));
    }
    if (first_ms > absl::ToUnixMillis(absl::Now()) + kDatingSlackMs) {
      return absl::DataLossError(
          absl::StrCat("event ", signed_to + 1, " is dated in the future (",
                       FormatTime(first_ms), "): edited"));
    }
  }
  if (options.max_unsigned_age > absl::ZeroDuration() &&
      absl::Now() - absl::FromUnixMillis(first_ms) > options.max_unsigned_age) {
    return absl::DataLossError(absl::StrCat(
        "event ", signed_to + 1, ", recorded ", FormatTime(first_ms),
        ", is in no checkpoint although one is signed at least every ",
        absl::FormatDuration(options.max_unsigned_age),
        ": the newest checkpoints were deleted, or the controller stopped "
        "signing"));
  }
  return absl::OkStatus();
}

std::string Report(const ChainWalk& walk, int64_t chain_start,
                   const std::vector<v1::AuditCheckpoint>& checkpoints,
                   const VerifyOptions& options) {
  const int64_t unsigned_events =
      walk.last_seq - (checkpoints.empty() ? 0 : checkpoints.back().last_seq());
  std::string report = absl::StrCat(
      walk.events, " events verified",
      chain_start > 0 ? absl::StrCat(" (rows after ", chain_start, ")") : "");
  const bool keyed = options.checkpoint_key != nullptr;
  if (!checkpoints.empty()) {
    const v1::AuditCheckpoint& c = checkpoints.back();
    absl::StrAppend(&report, "; ", checkpoints.size(),
                    " checkpoint(s) signed by key ", c.key_id(),
                    " verified, the last (", c.number(), ", ",
                    FormatTime(c.signed_at_ms()), ") signs events to ",
                    c.last_seq(), ", ", unsigned_events, " event(s) since");
    if (!options.exported.empty())
      absl::StrAppend(&report, "; ", options.exported.size(),
                      " exported checkpoint(s) match");
  } else if (!keyed) {
    absl::StrAppend(&report, "; no signed checkpoints");
  } else {
    absl::StrAppend(&report, "; no checkpoint signed yet, ", unsigned_events,
                    " event(s) unsigned");
  }
  absl::StrAppend(
      &report,
      walk.pinned_at >= 0
          ? absl::StrCat("; the pinned head is event ", walk.pinned_at, ", ",
                         walk.last_seq - walk.pinned_at, " event(s) since")
          : "",
      "; head ", walk.head,
      options.expect_head.empty() && !keyed
          ? " (keep it elsewhere and verify with --expect-head to detect "
            "rows deleted from the end)"
          : "");
  return report;
}

}  // namespace

absl::Status CheckChainEvent(const ChainEvent& e, const std::string& previous,
                             bool first) {
  if (e.prev_hash != previous) {
    return absl::DataLossError(absl::StrCat(
        "chain event ", e.seq, " (row ", e.action_id, " ", e.event,
        ") does not follow ",
        first ? "the start of the chain: the start was moved or the first "
                "events deleted"
              : "the one before it: events were deleted or reordered"));
  }
  if (e.hash != ChainHash(e.prev_hash, e.digest)) {
    return absl::DataLossError(absl::StrCat("chain event ", e.seq, " (row ",
                                            e.action_id, " ", e.event,
                                            ") was altered"));
  }
  if (!e.record) {
    return absl::DataLossError(absl::StrCat("row ", e.action_id,
                                            " was deleted (its ", e.event,
                                            " is in the chain)"));
  }
  std::string canonical;
  if (e.event == "intent") {
    canonical = CanonicalIntent(e.action_id, e.record->intent());
  } else if (e.record->has_result()) {
    canonical = CanonicalOutcome(e.action_id, e.record->result());
  }
  if (Sha256Hex(canonical) != e.digest) {
    return absl::DataLossError(
        absl::StrCat("row ", e.action_id, " was edited: its ", e.event,
                     " no longer matches what was recorded"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> VerifyAuditSnapshot(AuditSnapshot& log,
                                                const VerifyOptions& options) {
  absl::StatusOr<int64_t> chain_start = log.ChainStart();
  if (!chain_start.ok()) return chain_start.status();
  if (absl::Status status =
          CheckChainStart(*chain_start, options.accept_unchained);
      !status.ok())
    return status;
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> checkpoints =
      log.Checkpoints();
  if (!checkpoints.ok()) return checkpoints.status();
  const CheckpointVerifier* key = options.checkpoint_key;
  if (key == nullptr && (!checkpoints->empty() || !options.exported.empty())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log has ", checkpoints->size(),
        " signed checkpoint(s); give the controller's checkpoint key "
        "(--checkpoint-key, its public half) to check them"));
  }
  if (key != nullptr) {
    if (absl::Status status = CheckCheckpointSequence(*checkpoints, *key);
        !status.ok())
      return status;
    if (absl::Status status =
            CheckExportedCopies(*checkpoints, options.exported, *key);
        !status.ok())
      return status;
  }
  absl::StatusOr<ChainWalk> walk =
      WalkChain(log, *chain_start, *checkpoints, options.expect_head);
  if (!walk.ok()) return walk.status();
  if (absl::Status status = CheckRows(log, *chain_start, *walk->seen);
      !status.ok())
    return status;
  if (absl::Status status = CheckUnsignedTail(*walk, *checkpoints, options);
      !status.ok())
    return status;
  return Report(*walk, *chain_start, *checkpoints, options);
}

}  // namespace opsagent
