#ifndef OPSAGENT_AGENT_SERVER_RETRY_CACHE_H_
#define OPSAGENT_AGENT_SERVER_RETRY_CACHE_H_

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/message.h"
#include "opsagent/v1/journal.pb.h"

namespace opsagent {

// Remembers the outcome of recent mutating requests by request id, so that a
// client retrying after a timeout gets the first outcome instead of the
// operation running twice. Bounded: the oldest finished entries are
// forgotten first.
class RetryCache {
 public:
  explicit RetryCache(size_t capacity = 10000) : capacity_(capacity) {}

  // What a retry gets back.
  struct Outcome {
    absl::Status status;
    std::string serialized_reply;
  };

  // Claims `request_id` for a first run: returns nullopt, and the caller must
  // call Finish. Otherwise returns the earlier outcome, or an error when the
  // id is still running, belongs to another caller or operation, or came
  // with a different request (`digest`, see Digest): a retry must be the
  // same request, or it would silently get another request's outcome.
  std::optional<absl::StatusOr<Outcome>> Claim(const std::string& request_id,
                                               const std::string& operation,
                                               const std::string& caller,
                                               const std::string& digest);

  // SHA-256 (hex) of the request's deterministic serialization.
  static std::string Digest(const google::protobuf::Message& request);

  void Finish(const std::string& request_id, Outcome outcome);

  // Rebuilds the journal from the agent's action journal after a restart.
  // A request that started but never finished gets an UNKNOWN outcome: it is
  // not run again, and a retry is told to check the host.
  void Restore(const std::vector<v1::JournalRecord>& history);

 private:
  struct Entry {
    std::string operation;
    std::string caller;
    std::string digest;              // empty: unknown (an old journal)
    std::optional<Outcome> outcome;  // unset while running
  };

  const size_t capacity_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mutex_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_RETRY_CACHE_H_
