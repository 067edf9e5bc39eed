#include "agent/ops/target_locks.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace opsagent {

TargetLocks::Lease::~Lease() { locks_->Release(target_); }

absl::StatusOr<std::unique_ptr<TargetLocks::Lease>> TargetLocks::Acquire(
    const std::string& target, const std::string& holder,
    const std::string& operation) {
  absl::MutexLock lock(&mutex_);
  auto [it, inserted] =
      held_.try_emplace(target, Holder{holder, operation, absl::Now()});
  if (!inserted) {
    return absl::AbortedError(absl::StrCat(
        it->second.operation, " of ", target, " is in progress since ",
        absl::FormatTime(absl::RFC3339_sec, it->second.since,
                         absl::UTCTimeZone()),
        " by ", it->second.holder, "; try again when it has finished"));
  }
  return std::unique_ptr<Lease>(new Lease(this, target));
}

void TargetLocks::Release(const std::string& target) {
  absl::MutexLock lock(&mutex_);
  held_.erase(target);
}

}  // namespace opsagent
