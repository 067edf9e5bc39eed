#ifndef OPSAGENT_AGENT_SERVER_AGENT_SERVER_H_
#define OPSAGENT_AGENT_SERVER_AGENT_SERVER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/enroll/certificate_renewal.h"
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
// the standard health check through it, and one link per controller
// (`controller`, then `more_controllers`) that relays operations to the
// same gate. The listener or the links may be absent, not both.
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
  // For the watchdog: OK while the thread of every controller link keeps
  // working (ControllerLink::CheckAlive), the first failure otherwise. OK
  // without links, and after Shutdown. Thread-safe.
  absl::Status CheckLinksAlive(absl::Duration timeout) const;
  // Of the controller links, how many are up (accepted by their
  // controller), and how many there are. Thread-safe.
  struct LinkCount {
    int connected = 0;
    int configured = 0;
  };
  LinkCount CountLinks() const;
  // The checked copies of the agent's own TLS files (for its probe).
  const TlsFiles& tls_files() const { return trust_->staged(); }

 private:
  AgentServer() = default;

  std::unique_ptr<ServerTrust> trust_;
  std::unique_ptr<CallGate> gate_;
  std::unique_ptr<OperationService> service_;
  std::unique_ptr<grpc::Server> server_;
  // Outlives the links (declared before them); used by the first only.
  std::unique_ptr<CertificateRenewal> renewal_;
  // One per controller, `controller` first. Guarded: the watchdog and the
  // metrics read them while Shutdown drops them.
  mutable absl::Mutex links_mutex_;
  std::vector<std::unique_ptr<ControllerLink>> links_
      ABSL_GUARDED_BY(links_mutex_);
  std::unique_ptr<HttpListener> metrics_;  // reads gate_'s metrics
  int port_ = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_AGENT_SERVER_H_
