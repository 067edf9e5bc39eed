#ifndef OPSAGENT_AGENT_SYSTEM_STAT_POOL_H_
#define OPSAGENT_AGENT_SYSTEM_STAT_POOL_H_

#include <sys/stat.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace opsagent {

// One directory entry to be examined with fstatat(dirfd, name,
// AT_SYMLINK_NOFOLLOW).
struct StatJob {
  std::string name;
  unsigned char d_type = 0;
  struct stat st = {};
  int error = 0;  // errno of a failed fstatat, 0 on success
  bool needs_stat = true;
};

// Runs the fstatat calls of a batch of entries on this thread and up to
// `threads - 1` helper threads. A disk-usage scan is bound by these calls
// (one per file), and they run in parallel across cores the way GNU du's
// single thread cannot.
class StatPool {
 public:
  explicit StatPool(int threads);
  ~StatPool();
  StatPool(const StatPool&) = delete;
  StatPool& operator=(const StatPool&) = delete;

  // Fills `st`/`error` of every job with needs_stat, relative to `dir_fd`;
  // returns when all are done.
  void StatAll(int dir_fd, std::vector<StatJob>& jobs);

 private:
  void HelperLoop();
  static void StatRange(int dir_fd, std::vector<StatJob>& jobs, size_t begin,
                        size_t end);

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // The batch being shared out: helpers take slices of `jobs_`.
  std::vector<StatJob>* jobs_ ABSL_GUARDED_BY(mutex_) = nullptr;
  int dir_fd_ ABSL_GUARDED_BY(mutex_) = -1;
  size_t next_ ABSL_GUARDED_BY(mutex_) = 0;
  size_t in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<std::thread> helpers_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_STAT_POOL_H_
