#ifndef OPSAGENT_CONTROLLER_CONTROLLER_CLIENT_H_
#define OPSAGENT_CONTROLLER_CONTROLLER_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

using ControllerStub = v1::Controller::Stub;

// opsctl's connection to the team's controller (opsctld), over mutual TLS
// with the operator's certificate. The controller's certificate must chain
// to the operator's CA, carry the controller's name (a DNS SAN) and the role
// "controller", so no agent or operator can pass as the controller. Errors
// for a controller that cannot be reached say so and point to --direct.
class ControllerClient {
 public:
  static absl::StatusOr<std::unique_ptr<ControllerClient>> Connect(
      const v1::OperatorConfig& config);

  // Streams a run's events to `on_event` as they come, until `deadline`;
  // the status is the run's (or the connection's, or DEADLINE_EXCEEDED).
  absl::Status Run(const v1::RunRequest& request, absl::Time deadline,
                   const std::function<void(const v1::RunEvent&)>& on_event);
  // Calls one unary RPC of the controller, named by its stub method
  // (`&ControllerStub::ListHosts`), waiting at most `timeout`. The one way
  // opsctl asks the controller anything but a run: nothing here knows one
  // RPC from another. Errors are the controller's status, or for one that
  // cannot be reached, that said with the way to --direct.
  template <typename Request, typename Reply>
  absl::StatusOr<Reply> Call(grpc::Status (ControllerStub::*rpc)(
                                 grpc::ClientContext*, const Request&, Reply*),
                             const Request& request, absl::Duration timeout) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    Reply reply;
    grpc::Status status = (stub_.get()->*rpc)(&context, request, &reply);
    if (!status.ok()) return Explain(status);
    return reply;
  }

  const std::string& address() const { return address_; }

 private:
  ControllerClient(std::string address, std::shared_ptr<grpc::Channel> channel)
      : address_(std::move(address)),
        stub_(v1::Controller::NewStub(std::move(channel))) {}

  absl::Status Explain(const grpc::Status& status) const;

  std::string address_;
  std::unique_ptr<ControllerStub> stub_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_CONTROLLER_CLIENT_H_
