#ifndef OPSAGENT_CONTROLLER_AUDIT_GROUP_COMMIT_H_
#define OPSAGENT_CONTROLLER_AUDIT_GROUP_COMMIT_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/audit/audit_record.h"

namespace opsagent {

// Merges the audit writes of concurrent callers into shared transactions,
// as LevelDB's write queue does: callers line up; the one at the front
// commits its own writes and those of everyone waiting behind it (up to
// kMaxRows) in one transaction, one sync to disk, and hands each caller its
// row ids. With a hundred operators' and alerts' writes at once, a
// transaction (and its fsync) is shared instead of queued for. A merged
// transaction that fails is not allowed to fail the others' writes: each
// caller's writes are then committed alone, so an error reaches only the
// caller whose writes caused it.
class GroupCommit {
 public:
  using Results = std::vector<std::pair<int64_t, v1::AuditResult>>;
  // One transaction's writes: completes `results`, then records `intents`,
  // returning their ids in order; nothing is written if it fails.
  using Transaction = std::function<absl::StatusOr<std::vector<int64_t>>(
      const std::vector<const v1::AuditIntent*>& intents,
      const std::vector<const std::pair<int64_t, v1::AuditResult>*>& results)>;

  // At most this many rows (intents and results) per merged transaction.
  static constexpr size_t kMaxRows = 4096;

  explicit GroupCommit(Transaction transaction)
      : transaction_(std::move(transaction)) {}

  // Commits the caller's writes, alone or with others'; returns when they
  // are durable (or failed), with the ids of `intents`.
  absl::StatusOr<std::vector<int64_t>> Commit(
      const std::vector<v1::AuditIntent>& intents, const Results& results);

 private:
  struct Writer;

  // Runs `writers`' writes in one transaction; on failure, each alone.
  void CommitMerged(const std::vector<Writer*>& writers);

  const Transaction transaction_;
  absl::Mutex mutex_;
  std::deque<Writer*> queue_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_GROUP_COMMIT_H_
