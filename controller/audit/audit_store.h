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
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/audit/audit_checkpoint.h"
#include "controller/audit/audit_record.h"

struct sqlite3;

namespace opsagent {

// Narrows an audit query; unset fields match everything.
struct AuditFilter {
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;
  std::string host;
  std::string operator_name;  // matches OS user or certificate identity
  std::string operation;
  std::optional<AuditOutcome> outcome;
  std::string incident;
  std::string ticket;
  std::string run_id;
  std::optional<int64_t> id;  // one row
  int limit = 100;
};

// What `audit verify` checks beyond the chain itself.
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
  std::vector<AuditCheckpoint> exported;
  // With checkpoints signed every N seconds, the oldest event no checkpoint
  // covers may be at most this old; older means the newest checkpoints were
  // deleted. Zero: not checked.
  absl::Duration max_unsigned_age = absl::ZeroDuration();
};

// Where `opsctl audit export` resumes: after chain event `seq` and
// checkpoint `checkpoint`. Written "SEQ.CHECKPOINT"; "" is the start.
struct AuditCursor {
  int64_t seq = 0;
  int64_t checkpoint = 0;

  std::string ToString() const;
  static absl::StatusOr<AuditCursor> Parse(absl::string_view text);
};

// One line of the export: a chain event with its row (for an intent, the
// row as the intent recorded it), or a checkpoint, which follows the event
// it signs.
struct AuditExportItem {
  AuditCursor cursor;  // to resume after this item
  std::optional<AuditCheckpoint> checkpoint;
  int64_t seq = 0;
  std::string event;  // "intent" or "outcome"
  std::string hash;
  AuditRecord record;
};

// The controller's audit log: one SQLite database (WAL, synchronous=FULL)
// holding a row per action, written as an intent before the action is sent
// and completed with its outcome after. Safe for several opsctl processes at
// once. The schema is in docs/AUDIT.md.
class AuditStore {
 public:
  // Opens or creates the database (and its directory), upgrading the schema.
  static absl::StatusOr<std::unique_ptr<AuditStore>> Open(
      const std::string& path);
  ~AuditStore();

  // Durably records that an action is about to be sent; returns the row id.
  // An error here means the action must not be sent.
  absl::StatusOr<int64_t> RecordIntent(const AuditIntent& intent);

  // Completes the row written by RecordIntent.
  absl::Status RecordResult(int64_t id, const AuditResult& result);

  // Both at once, in one transaction (one sync to disk), for a fan-out
  // through the controller: completes `results`, then records `intents`,
  // returning their row ids in order. Nothing is written if any fails.
  absl::StatusOr<std::vector<int64_t>> Commit(
      const std::vector<AuditIntent>& intents,
      const std::vector<std::pair<int64_t, AuditResult>>& results);

  // Completes every row still pending as `unknown`, at `now`: for opsctld
  // at its start, when no call it relays is running, so a pending row is
  // one whose controller was killed before the agent answered, and would
  // otherwise stay pending for good. Its message names the host's journal
  // (`opsctl audit reconcile`), which holds what happened. Returns how many
  // rows were completed. Only for the process that alone writes the log.
  absl::StatusOr<int64_t> SettleInterrupted(absl::Time now);

  // Checks the hash chain against the rows. OK with a summary ("N events
  // verified; head HASH"), or DATA_LOSS naming the first row that was
  // edited, deleted, inserted or reordered, a chain whose start was moved,
  // rows the chain does not cover, or a pinned head that is gone.
  // With checkpoints: also DATA_LOSS for a checkpoint deleted, forged or
  // out of order, events a checkpoint signed that were rewritten or cut off
  // the end, an exported checkpoint the database lacks or differs from, and
  // an unsigned tail older than `max_unsigned_age`.
  absl::StatusOr<std::string> Verify(const VerifyOptions& options = {});

  // Signs the chain's head if events were appended since the last
  // checkpoint, after re-checking those events; returns the new checkpoint,
  // or nothing if there was nothing to sign. `signed_last` is the
  // checkpoint the signer itself signed (or exported) last: the database's
  // newest must be that one, or nothing is signed (whoever writes the file
  // could otherwise delete checkpoints, rewrite the rows and have them
  // signed again under the same numbers).
  absl::StatusOr<std::optional<AuditCheckpoint>> SignCheckpoint(
      const CheckpointSigner& signer, absl::Time now,
      const std::optional<AuditCheckpoint>& signed_last);

  // How many chain events no checkpoint covers yet, and the newest
  // checkpoint (if any).
  struct CheckpointState {
    int64_t unsigned_events = 0;
    std::optional<AuditCheckpoint> last;
  };
  absl::StatusOr<CheckpointState> GetCheckpointState();

  // The checkpoints numbered above `after`, in order.
  absl::StatusOr<std::vector<AuditCheckpoint>> Checkpoints(int64_t after = 0);

  // Up to `limit` events and checkpoints after `cursor`, in order.
  absl::StatusOr<std::vector<AuditExportItem>> Export(const AuditCursor& after,
                                                      int limit);

  // Rows matching `filter`, oldest first (the newest `filter.limit`).
  absl::StatusOr<std::vector<AuditRecord>> Query(const AuditFilter& filter);

  const std::string& path() const { return path_; }

 private:
  AuditStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  absl::Status Exec(const char* sql);
  // WAL, synchronous=FULL, and the schema created or upgraded.
  absl::Status Initialize(const std::string& path);
  // Runs `body` in one BEGIN IMMEDIATE transaction (rolled back on error).
  absl::Status InTransaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_);
  // The writes of one Commit.
  class Batch;
  // audit_meta.chain_start: rows up to it predate the chain.
  absl::StatusOr<int64_t> ChainStart();

  // One connection is shared by a fan-out's threads; its transactions must
  // not interleave.
  absl::Mutex write_mutex_;
  sqlite3* db_;
  std::string path_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_STORE_H_
