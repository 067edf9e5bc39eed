#ifndef OPSAGENT_CONTROLLER_SERVER_AGENT_REGISTRY_H_
#define OPSAGENT_CONTROLLER_SERVER_AGENT_REGISTRY_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "controller/server/agent_connection.h"

namespace opsagent {

// The agents connected to the controller now, by host name, and when each
// host that has gone was last seen. A host has at most one link: a new one
// replaces the old (an agent that restarted, or a stale half-open link).
// Its sweeper thread ends calls past their deadlines, sends heartbeats, and
// drops links silent for three heartbeats. Thread-safe.
class AgentRegistry {
 public:
  AgentRegistry(int max_agents, absl::Duration heartbeat);
  ~AgentRegistry();

  // Holds `connection`; refused when the registry is full.
  absl::Status Add(std::shared_ptr<AgentConnection> connection);
  // Forgets `connection` if it is still the one held for its host.
  void Remove(const AgentConnection* connection);

  std::shared_ptr<AgentConnection> Find(const std::string& host) const;
  std::vector<std::shared_ptr<AgentConnection>> All() const;
  // A host that was connected since the controller started and is not
  // now: what its agent said of itself, and when it was last heard from.
  struct Gone {
    AgentConnection::Info info;
    absl::Time last_seen;
  };
  std::optional<Gone> FindGone(const std::string& host) const;
  std::vector<Gone> AllGone() const;
  size_t size() const;

 private:
  void Sweep();

  const int max_agents_;
  const absl::Duration heartbeat_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<AgentConnection>> links_
      ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, Gone> gone_ ABSL_GUARDED_BY(mutex_);
  absl::Notification stop_;
  std::thread sweeper_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_AGENT_REGISTRY_H_
