#ifndef OPSAGENT_CONTROLLER_SERVER_AGENT_CONNECTION_H_
#define OPSAGENT_CONTROLLER_SERVER_AGENT_CONNECTION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// One agent's live link, as the controller holds it: who the agent is, and
// the calls relayed over the link that have not ended. Shared by the link
// (which feeds it what the agent sends) and the runs that relay calls over
// it. Every relayed call ends exactly once: with the agent's result, with
// DEADLINE_EXCEEDED at its deadline (the agent is told to cancel), or with
// UNAVAILABLE when the link goes away first. Thread-safe; callbacks run on
// the caller's thread, never under a lock.
class AgentConnection {
 public:
  struct Info {
    std::string host;     // from its certificate, as its hello named it
    std::string address;  // as the controller sees it
    std::vector<std::string> roles;
    std::string environment;
    std::string version;
    absl::Time connected_since;
  };
  // Queues a message on the link; false once the link is closing.
  using Sender = std::function<bool(v1::ControllerMessage)>;
  // Asks the link to end with `reason`.
  using Closer = std::function<void(const std::string& reason)>;

  struct Relay {
    std::function<void(std::string message)> on_event;
    // `signature` is the agent's over its result (unset when no agent
    // answered).
    std::function<void(absl::Status status, std::string final_message,
                       v1::ResultSignature signature)>
        on_done;
  };

  AgentConnection(Info info, Sender send, Closer close);

  // Relays `call` (its call id is assigned here).
  void Start(v1::RelayedCall call, absl::Time deadline, Relay relay);

  // What the agent sent.
  void OnEvent(const v1::RelayedEvent& event);
  void OnResult(const v1::RelayedResult& result);
  void OnHeard();
  // The link is gone: every pending call ends UNAVAILABLE, and nothing is
  // sent any more.
  void OnClosed();

  // Ends calls past their deadline (and tells the agent to cancel them).
  void ExpireCalls(absl::Time now);
  void SendHeartbeat();
  void Close(const std::string& reason);

  const Info& info() const { return info_; }
  absl::Time last_seen() const;

  // The certificate the host holds now: the link's, until the host renews
  // it over the link. The link ends when it expires.
  struct Certificate {
    std::string serial_hex;
    absl::Time not_after = absl::InfiniteFuture();
  };
  Certificate certificate() const;
  void set_certificate(Certificate certificate);
  bool closed() const;

 private:
  struct Pending {
    absl::Time deadline;
    Relay relay;
  };

  const Info info_;
  const Sender send_;
  const Closer close_;
  mutable absl::Mutex mutex_;
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Time last_seen_ ABSL_GUARDED_BY(mutex_);
  Certificate certificate_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_call_id_ ABSL_GUARDED_BY(mutex_) = 1;
  absl::flat_hash_map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_AGENT_CONNECTION_H_
