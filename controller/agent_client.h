#ifndef OPSAGENT_CONTROLLER_AGENT_CLIENT_H_
#define OPSAGENT_CONTROLLER_AGENT_CLIENT_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/operation_catalog.h"
#include "common/tls/credentials.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

// How one operation ended on one host: its status, and its final message
// (the reply, or a stream's last event), which a failure carries too when
// the operation had something to show (a failed restart's attempts).
struct OperationResult {
  absl::Status status;
  std::unique_ptr<google::protobuf::Message> final;
};

// A mutual-TLS connection to one host's agent. The agent's certificate must
// chain to the operator's CA and be a host certificate for the inventory
// name (serverAuth, DNS SAN), so one presented by the wrong host is refused.
class AgentClient {
 public:
  // `credentials` may be shared by the clients of many hosts.
  static std::unique_ptr<AgentClient> Connect(
      std::shared_ptr<grpc::ChannelCredentials> credentials,
      const v1::Host& host, absl::Duration timeout);
  static absl::StatusOr<std::unique_ptr<AgentClient>> Connect(
      const TlsFiles& tls, const v1::Host& host, absl::Duration timeout);

  // Calls any declared operation with its request; a stream's events reach
  // `on_event` as they arrive (may be null). The one way opsctl talks to an
  // agent: nothing here knows one operation from another.
  OperationResult Call(
      const OperationInfo& op, const google::protobuf::Message& request,
      const std::function<void(const google::protobuf::Message&)>& on_event =
          nullptr);

  // The typed form, for tests and tools: the reply, or a stream's final
  // event (its other events are dropped).
  template <typename Final>
  absl::StatusOr<Final> Call(const google::protobuf::Message& request) {
    OperationResult result =
        Call(OperationOf(request.GetDescriptor()), request);
    if (!result.status.ok()) return result.status;
    return static_cast<const Final&>(*result.final);
  }

 private:
  AgentClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : channel_(std::move(channel)), timeout_(timeout) {}

  std::shared_ptr<grpc::Channel> channel_;
  absl::Duration timeout_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AGENT_CLIENT_H_
