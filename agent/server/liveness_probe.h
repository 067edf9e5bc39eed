#ifndef OPSAGENT_AGENT_SERVER_LIVENESS_PROBE_H_
#define OPSAGENT_AGENT_SERVER_LIVENESS_PROBE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls/credentials.h"
#include "grpcpp/security/credentials.h"

namespace opsagent {

// Proves that the agent can still accept a connection and answer a call,
// the way a caller would: a fresh TCP connection to its own listener, a TLS
// handshake with the agent's own certificate, and a grpc.health.v1 Check
// served by the same thread pool as every operation. The watchdog pings
// systemd only after a probe passed; a process that is alive but no longer
// serves is thereby restarted instead of being kept alive.
class LivenessProbe {
 public:
  // `listen_address` is the agent's configured address and `port` the one
  // bound; a wildcard address is probed on loopback. `own` are the agent's
  // (staged) TLS files.
  static absl::StatusOr<std::unique_ptr<LivenessProbe>> Create(
      const std::string& listen_address, int port, const TlsFiles& own);

  // One probe over a new connection, giving up after `timeout`.
  absl::Status Check(absl::Duration timeout);

  const std::string& target() const { return target_; }

 private:
  LivenessProbe(std::string target,
                std::shared_ptr<grpc::ChannelCredentials> credentials)
      : target_(std::move(target)), credentials_(std::move(credentials)) {}

  std::string target_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_LIVENESS_PROBE_H_
