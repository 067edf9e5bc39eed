#include "controller/fan_out.h"

#include <algorithm>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace opsagent {

FanOutSummary RunFanOut(
    const std::vector<v1::Host>& hosts, const FanOutOptions& options,
    const std::function<AuditOutcome(const v1::Host&)>& task,
    const std::function<void(const v1::Host&, AuditOutcome,
                             const FanOutSummary&)>& on_done) {
  absl::Mutex mutex;
  size_t next = 0;
  FanOutSummary summary;
  auto budget_spent = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    return options.max_failures > 0 && summary.failed() >= options.max_failures;
  };
  auto worker = [&] {
    for (;;) {
      const v1::Host* host;
      {
        absl::MutexLock lock(&mutex);
        if (next >= hosts.size() || budget_spent()) return;
        host = &hosts[next++];
      }
      const AuditOutcome outcome = task(*host);
      absl::MutexLock lock(&mutex);
      switch (outcome) {
        case AuditOutcome::kOk:
          ++summary.ok;
          break;
        case AuditOutcome::kDenied:
          ++summary.denied;
          break;
        case AuditOutcome::kUnreachable:
          ++summary.unreachable;
          break;
        case AuditOutcome::kUnknown:
        case AuditOutcome::kPending:
          ++summary.unknown;
          break;
        case AuditOutcome::kError:
          ++summary.error;
          break;
      }
      on_done(*host, outcome, summary);
    }
  };
  const int threads = std::max(
      1, std::min<int>(options.concurrency, static_cast<int>(hosts.size())));
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  summary.not_started = static_cast<int>(hosts.size() - next);
  return summary;
}

}  // namespace opsagent
