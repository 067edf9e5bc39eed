#include "agent/system/stat_pool.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

namespace opsagent {
namespace {

// Batches smaller than this are not worth waking a helper for.
constexpr size_t kMinParallelBatch = 64;
// Slice size helpers and the caller take at a time.
constexpr size_t kSlice = 32;

}  // namespace

StatPool::StatPool(int threads) {
  for (int i = 1; i < threads; ++i)
    helpers_.emplace_back([this] { HelperLoop(); });
}

StatPool::~StatPool() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  for (std::thread& helper : helpers_) helper.join();
}

void StatPool::StatRange(int dir_fd, std::vector<StatJob>& jobs, size_t begin,
                         size_t end) {
  for (size_t i = begin; i < end; ++i) {
    StatJob& job = jobs[i];
    if (!job.needs_stat) continue;
    job.error =
        fstatat(dir_fd, job.name.c_str(), &job.st, AT_SYMLINK_NOFOLLOW) == 0
            ? 0
            : errno;
  }
}

void StatPool::StatAll(int dir_fd, std::vector<StatJob>& jobs) {
  if (helpers_.empty() || jobs.size() < kMinParallelBatch) {
    StatRange(dir_fd, jobs, 0, jobs.size());
    return;
  }
  {
    absl::MutexLock lock(&mutex_);
    jobs_ = &jobs;
    dir_fd_ = dir_fd;
    next_ = 0;
    in_flight_ = 0;
  }
  // Work alongside the helpers, then wait until every slice is back.
  for (;;) {
    size_t begin;
    {
      absl::MutexLock lock(&mutex_);
      if (next_ >= jobs.size()) break;
      begin = next_;
      next_ = std::min(jobs.size(), next_ + kSlice);
    }
    StatRange(dir_fd, jobs, begin, std::min(jobs.size(), begin + kSlice));
  }
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](size_t* in_flight) { return *in_flight == 0; }, &in_flight_));
  jobs_ = nullptr;
}

void StatPool::HelperLoop() {
  for (;;) {
    std::vector<StatJob>* jobs;
    int dir_fd;
    size_t begin, end;
    {
      absl::MutexLock lock(&mutex_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || (jobs_ != nullptr && next_ < jobs_->size());
      };
      mutex_.Await(absl::Condition(&has_work));
      if (stopping_) return;
      jobs = jobs_;
      dir_fd = dir_fd_;
      begin = next_;
      end = std::min(jobs->size(), next_ + kSlice);
      next_ = end;
      ++in_flight_;
    }
    StatRange(dir_fd, *jobs, begin, end);
    absl::MutexLock lock(&mutex_);
    --in_flight_;
  }
}

}  // namespace opsagent
