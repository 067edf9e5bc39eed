#ifndef OPSAGENT_AGENT_SERVER_AGENT_SERVER_H_
#define OPSAGENT_AGENT_SERVER_AGENT_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "agent/ops/operation.h"
#include "agent/server/agent_service.h"
#include "grpcpp/server.h"

namespace opsagent {

// A running agent: the gRPC server on the configured address, mutual TLS
// only, serving AgentService.
class AgentServer {
 public:
  // Starts serving. The returned server keeps `agent` by reference.
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(
      const AgentEnvironment& agent);

  // Stops accepting calls and waits up to `grace` for running ones.
  void Shutdown(absl::Duration grace);
  void Wait() { server_->Wait(); }
  int port() const { return port_; }

 private:
  AgentServer(std::unique_ptr<AgentService> service,
              std::unique_ptr<grpc::Server> server, int port)
      : service_(std::move(service)), server_(std::move(server)), port_(port) {}

  std::unique_ptr<AgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_AGENT_SERVER_H_
