#ifndef OPSAGENT_AGENT_SERVER_REPLAY_CACHE_H_
#define OPSAGENT_AGENT_SERVER_REPLAY_CACHE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "opsagent/v1/journal.pb.h"

namespace opsagent {

// The nonces of the signed requests this agent has seen, each kept until its
// request expires (at most a minute), so that a controller cannot run one
// twice: a replay inside its lifetime is refused here, one after it by the
// signature's expiry. Restored from the journal, so a restart does not
// reopen the window. Thread-safe.
class ReplayCache {
 public:
  // Takes the nonces of the journal's relayed calls that have not expired
  // (each for its longest recorded life, and never beyond the longest a
  // signed request can live from `now`).
  void Restore(const std::vector<v1::JournalRecord>& history, absl::Time now);

  // Records `nonce` until `expires`; false if it was seen before.
  bool Claim(const std::string& nonce, absl::Time expires, absl::Time now);

 private:
  void ForgetExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, absl::Time> expiry_ ABSL_GUARDED_BY(mutex_);
  absl::Time next_sweep_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_REPLAY_CACHE_H_
