#ifndef OPSAGENT_AGENT_OPS_TARGET_LOCKS_H_
#define OPSAGENT_AGENT_OPS_TARGET_LOCKS_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace opsagent {

// Lets at most one mutating operation act on a target (a file, a unit) at a
// time. A second one is refused at once with who holds the target and since
// when, instead of queueing behind it.
class TargetLocks {
 public:
  // Held while an operation acts on its target; releases it when destroyed.
  class Lease {
   public:
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    friend class TargetLocks;
    Lease(TargetLocks* locks, std::string target)
        : locks_(locks), target_(std::move(target)) {}
    TargetLocks* locks_;
    std::string target_;
  };

  // ABORTED "restart_service of unit:x is in progress since T by alice" if
  // another operation holds `target`.
  absl::StatusOr<std::unique_ptr<Lease>> Acquire(const std::string& target,
                                                 const std::string& holder,
                                                 const std::string& operation);

 private:
  struct Holder {
    std::string holder;
    std::string operation;
    absl::Time since;
  };
  void Release(const std::string& target);

  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Holder> held_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_TARGET_LOCKS_H_
