#include "controller/audit/audit_verifier.h"

#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "controller/audit/audit_chain.h"
#include "controller/audit/audit_schema.h"

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

using Connection = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;

// A read-only connection of its own, in one read transaction: the walk sees
// one snapshot while opsctld keeps writing, and without the writers'
// shared connection and its mutex, which cost a tenth of a million-row walk.
absl::StatusOr<Connection> OpenSnapshot(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
      nullptr);
  Connection connection(db, sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(
        absl::StrCat("audit log ", path, " cannot be opened to verify: ",
                     db ? sqlite3_errmsg(db) : "out of memory"));
  }
  sqlite3_busy_timeout(db, kAuditBusyTimeoutMs);
  if (absl::Status begun =
          ExecSql(db, "BEGIN", absl::StrCat("audit log ", path));
      !begun.ok())
    return begun;
  return connection;
}

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
    sqlite3* db, int64_t chain_start,
    const std::vector<v1::AuditCheckpoint>& checkpoints,
    const std::string& expect_head) {
  ChainWalk walk;
  walk.head = GenesisHash(chain_start);
  Statement max_id(db, "SELECT coalesce(max(id), 0) FROM actions");
  if (!max_id.status().ok()) return max_id.status();
  if (max_id.Step() != SQLITE_ROW) return max_id.Error("reading the rows");
  walk.seen.emplace(chain_start + 1, max_id.Int(0));
  Statement chain(db, ChainEventQuery());
  if (!chain.status().ok()) return chain.status();
  chain.Bind(1, int64_t{0});
  chain.Bind(2, int64_t{-1});
  size_t next_checkpoint = 0;
  int rc;
  while ((rc = chain.Step()) == SQLITE_ROW) {
    const ChainEvent event = ReadEvent(chain, /*whole_rows=*/false);
    if (absl::Status checked =
            CheckChainEvent(event, walk.head, walk.events == 0);
        !checked.ok())
      return checked;
    if (next_checkpoint < checkpoints.size()) {
      const v1::AuditCheckpoint& c = checkpoints[next_checkpoint];
      if (event.seq > c.last_seq()) {
        return absl::DataLossError(absl::StrCat(
            "event ", c.last_seq(), ", which checkpoint ", c.number(),
            " signed, is gone: events were deleted and the chain recomputed"));
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
  }
  if (rc != SQLITE_DONE) return chain.Error("reading the chain");
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

// The first column of a row whose value is not of the storage class opsctl
// writes (AuditColumns), as SQL: its name, or '' when all are.
std::string MistypedColumnExpression() {
  std::string expression = "CASE";
  for (const AuditColumn& column : AuditColumns()) {
    absl::StrAppend(&expression, " WHEN typeof(", column.name, ") NOT IN ('",
                    column.type, "'", column.nullable ? ", 'null'" : "",
                    ") THEN '", column.name, "'");
  }
  return absl::StrCat(expression, " ELSE '' END");
}

// Rows the chain does not know (inserted or completed behind opsctl's
// back, or with an id opsctl never gives), values stored as another class
// than opsctl writes, and indexes that do not hold the rows they should:
// `opsctl audit` finds rows through the indexes, so one that lacks rows
// (rebuilt as a partial one behind SQLite's back) hides them from every
// query while the table and the chain are intact.
absl::Status CheckRowsAndIndexes(sqlite3* db, int64_t chain_start,
                                 const EventCounts& seen) {
  const std::vector<AuditIndex>& indexes = AuditIndexes();
  std::vector<std::string> held;
  for (const AuditIndex& index : indexes)
    held.push_back(absl::StrCat("(", index.holds, ")"));
  // Rows per index, counted while the rows are read anyway.
  std::vector<int64_t> expected(indexes.size(), 0);
  Statement rows(
      db, absl::StrCat("SELECT id, outcome, ", MistypedColumnExpression(), ", ",
                       absl::StrJoin(held, ", "), " FROM actions ORDER BY id"));
  if (!rows.status().ok()) return rows.status();
  int rc;
  while ((rc = rows.Step()) == SQLITE_ROW) {
    const int64_t id = rows.Int(0);
    for (size_t i = 0; i < indexes.size(); ++i) expected[i] += rows.Int(3 + i);
    if (id < 1) {
      return absl::DataLossError(absl::StrCat(
          "row ", id, " was inserted outside opsctl (its ids start at 1)"));
    }
    if (const std::string mistyped = rows.Text(2); !mistyped.empty()) {
      return absl::DataLossError(absl::StrCat(
          "row ", id, " was changed outside opsctl: its ", mistyped,
          " is stored as another type than opsctl writes, which hides the "
          "row from queries"));
    }
    if (id <= chain_start) continue;  // from before the chain
    const int events = rows.Text(1) == "pending" ? 1 : 2;
    const int count = seen.Count(id);
    if (count != events) {
      return absl::DataLossError(
          absl::StrCat("row ", id, " was ", count == 0 ? "inserted" : "changed",
                       " outside opsctl: the chain has ", count, " of its ",
                       events, " events"));
    }
  }
  if (rc != SQLITE_DONE) return rows.Error("reading the rows");
  for (size_t i = 0; i < indexes.size(); ++i) {
    const AuditIndex& index = indexes[i];
    Statement count(db, absl::StrCat("SELECT count(*) FROM actions INDEXED BY ",
                                     index.name, " WHERE ", index.holds));
    if (!count.status().ok()) {
      return absl::DataLossError(
          absl::StrCat("the index ", index.name,
                       " is missing or changed: ", count.status().message()));
    }
    if (count.Step() != SQLITE_ROW) return count.Error("reading an index");
    if (count.Int(0) != expected[i]) {
      return absl::DataLossError(absl::StrCat(
          "the index ", index.name, " holds ", count.Int(0),
          " rows where the table has ", expected[i],
          ": rows are hidden from queries (the database's indexes were "
          "tampered with; sqlite3 FILE REINDEX restores them once the "
          "investigation has a copy)"));
    }
  }
  return absl::OkStatus();
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

absl::StatusOr<std::string> VerifyAuditLog(const std::string& path,
                                           const VerifyOptions& options) {
  absl::StatusOr<Connection> db = OpenSnapshot(path);
  if (!db.ok()) return db.status();
  absl::StatusOr<int64_t> chain_start = ChainStartOf(db->get());
  if (!chain_start.ok()) return chain_start.status();
  if (absl::Status status =
          CheckChainStart(*chain_start, options.accept_unchained);
      !status.ok())
    return status;
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> checkpoints =
      ReadCheckpoints(db->get(), 0);
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
      WalkChain(db->get(), *chain_start, *checkpoints, options.expect_head);
  if (!walk.ok()) return walk.status();
  if (absl::Status status =
          CheckRowsAndIndexes(db->get(), *chain_start, *walk->seen);
      !status.ok())
    return status;
  if (absl::Status status = CheckUnsignedTail(*walk, *checkpoints, options);
      !status.ok())
    return status;
  return Report(*walk, *chain_start, *checkpoints, options);
}

}  // namespace opsagent
