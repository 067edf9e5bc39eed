#ifndef OPSAGENT_AGENT_SERVER_AGENT_SERVER_H_
#define OPSAGENT_AGENT_SERVER_AGENT_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "agent/ops/operation.h"
#include "agent/server/call_gate.h"
#include "agent/server/controller_link.h"
#include "agent/server/operation_service.h"
#include "common/http/http_listener.h"
#include "common/tls/server_trust.h"
#include "grpcpp/server.h"

namespace opsagent {

// A running agent: the call gate every operation goes through, the gRPC
// server on the configured address (mutual TLS only, behind the connection
// guard, its TLS files checked by ServerTrust) serving every operation and
// the standard health check through it, and the link to the controller
// that relays operations to the same gate. Either may be absent, not both.
class AgentServer {
 public:
  // Starts serving. The returned server keeps `agent` by reference.
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(
      const AgentEnvironment& agent);

  // Stops accepting calls and waits up to `grace` for running ones.
  void Shutdown(absl::Duration grace);
  // The listener's port; 0 when it has none (controller link only).
  int port() const { return port_; }
  // The metrics listener's port; 0 when it has none.
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  // Null without a controller.
  const ControllerLink* link() const { return link_.get(); }
  // The checked copies of the agent's own TLS files (for its probe).
  const TlsFiles& tls_files() const { return trust_->staged(); }

 private:
  AgentServer() = default;

  std::unique_ptr<ServerTrust> trust_;
  std::unique_ptr<CallGate> gate_;
  std::unique_ptr<OperationService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ControllerLink> link_;
  std::unique_ptr<HttpListener> metrics_;  // reads gate_'s metrics
  int port_ = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_AGENT_SERVER_H_
