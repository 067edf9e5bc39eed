#include "controller/fan_out.h"

#include <algorithm>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace opsagent {

void FanOutSummary::Add(AuditOutcome outcome) {
  switch (outcome) {
    case AuditOutcome::kOk:
      ++ok;
      break;
    case AuditOutcome::kError:
      ++error;
      break;
    case AuditOutcome::kDenied:
      ++denied;
      break;
    case AuditOutcome::kUnreachable:
      ++unreachable;
      break;
    case AuditOutcome::kUnknown:
      ++unknown;
      break;
    case AuditOutcome::kPending:
      ++pending;
      break;
  }
}

FanOutSummary RunFanOut(
    size_t count, const FanOutOptions& options,
    const std::function<AuditOutcome(size_t index)>& task,
    const std::function<void(size_t index, AuditOutcome, const FanOutSummary&)>&
        on_done) {
  absl::Mutex mutex;
  size_t next = 0;
  FanOutSummary summary;
  auto budget_spent = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    return options.max_failures > 0 && summary.failed() >= options.max_failures;
  };
  auto worker = [&] {
    for (;;) {
      size_t index;
      {
        absl::MutexLock lock(&mutex);
        if (next >= count || budget_spent()) return;
        index = next++;
      }
      const AuditOutcome outcome = task(index);
      absl::MutexLock lock(&mutex);
      summary.Add(outcome);
      on_done(index, outcome, summary);
    }
  };
  const int threads =
      std::max(1, std::min<int>(options.concurrency, static_cast<int>(count)));
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  summary.not_started = static_cast<int>(count - next);
  return summary;
}

}  // namespace opsagent
