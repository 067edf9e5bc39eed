#include "controller/fan_out.h"

#include <algorithm>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace opsagent {

void FanOutSummary::Add(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_OK:
      ++ok;
      break;
    case v1::OUTCOME_ERROR:
      ++error;
      break;
    case v1::OUTCOME_DENIED:
      ++denied;
      break;
    case v1::OUTCOME_UNREACHABLE:
      ++unreachable;
      break;
    case v1::OUTCOME_UNKNOWN:
      ++unknown;
      break;
    case v1::OUTCOME_PENDING:
      ++pending;
      break;
    default:
      ++unknown;
      break;
  }
}

v1::RunFinished FanOutSummary::ToProto() const {
  v1::RunFinished finished;
  finished.set_ok(ok);
  finished.set_error(error);
  finished.set_denied(denied);
  finished.set_unreachable(unreachable);
  finished.set_unknown(unknown);
  finished.set_pending(pending);
  finished.set_not_started(not_started);
  return finished;
}

FanOutSummary RunFanOut(
    size_t count, const FanOutOptions& options,
    const std::function<v1::Outcome(size_t index)>& task,
    const std::function<void(size_t index, v1::Outcome, const FanOutSummary&)>&
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
      const v1::Outcome outcome = task(index);
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
