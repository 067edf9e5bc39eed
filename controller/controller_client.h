#ifndef OPSAGENT_CONTROLLER_CONTROLLER_CLIENT_H_
#define OPSAGENT_CONTROLLER_CONTROLLER_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/channel.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

using ControllerStub = v1::Controller::Stub;

// opsctl's connection to the team's controllers (opsctld: `controller`,
// then `more_controllers`, in that order), over mutual TLS with the
// operator's certificate. A controller's certificate must chain to the
// operator's CA, carry the controller's name (a DNS SAN) and the role
// "controller", so no agent or operator can pass as the controller.
//
// Failover: a call goes to the controller that last answered (the first at
// the start). Before anything is sent its channel must be READY; one that
// refuses the connection or the TLS handshake, or is not connected within
// kConnectLimit (the last one: within the call's deadline), was certainly
// not sent anything, and the next is tried, for any call. A call that was
// sent and failed UNAVAILABLE moves on only when it has no side effects
// (`option idempotency_level = NO_SIDE_EFFECTS` on its RPC in
// controller.proto); anything else is the caller's to report, never sent
// again here. Each move is one line to `report` ("controller A
// unreachable (why); using B"). Errors for controllers that cannot be
// reached say so and point to --direct.
//
// Not thread-safe: one invocation's calls, one at a time.
class ControllerClient {
 public:
  using FailoverReport = std::function<void(const std::string& line)>;

  // How long a controller that is not the last may take to connect before
  // the next is tried: a TCP connect and a TLS handshake on a LAN take
  // milliseconds; a host that is down and drops packets takes forever.
  static constexpr absl::Duration kConnectLimit = absl::Seconds(5);

  // `config` as LoadOperatorConfig returns it (names filled in).
  static absl::StatusOr<std::unique_ptr<ControllerClient>> Connect(
      const v1::OperatorConfig& config, FailoverReport report = nullptr);

  // What became of a run's request, for its caller to decide what a
  // failure means.
  struct RunAttempt {
    // Written to a connected controller: it may have acted on it.
    bool sent = false;
    // gRPC's words when the stream was lost (UNAVAILABLE, a deadline, an
    // internal error) rather than answered with the controller's refusal;
    // empty otherwise.
    std::string lost;
  };
  // Streams a run's events to `on_event` as they come, until `deadline`;
  // the status is the run's (or the connection's, or DEADLINE_EXCEEDED).
  // Sent only to a controller that is connected (trying the next ones as
  // above), and to one only: `*attempt` says whether a failed run may have
  // reached it, for the caller to decide (a change's outcome is then
  // unknown; a read may be signed again and MoveOn). `on_event` runs on
  // this thread.
  absl::Status Run(const v1::RunRequest& request, absl::Time deadline,
                   const std::function<void(const v1::RunEvent&)>& on_event,
                   RunAttempt* attempt = nullptr);
  // Calls one unary RPC of the controller, named by its stub method
  // (`&ControllerStub::ListHosts`), waiting at most `timeout`. The one way
  // opsctl asks the controller anything but a run: nothing here knows one
  // RPC from another beyond its declared idempotency level. Errors are the
  // controller's status, or for none that can be reached, that said with
  // the way to --direct.
  template <typename Request, typename Reply>
  absl::StatusOr<Reply> Call(grpc::Status (ControllerStub::*rpc)(
                                 grpc::ClientContext*, const Request&, Reply*),
                             const Request& request, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    static const bool kNoSideEffects =
        HasNoSideEffects(Request::descriptor(), Reply::descriptor());
    for (;;) {
      absl::StatusOr<ControllerStub*> stub = Reach(deadline);
      if (!stub.ok()) return stub.status();
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(deadline));
      Reply reply;
      grpc::Status status = ((*stub)->*rpc)(&context, request, &reply);
      if (status.ok()) return reply;
      if (kNoSideEffects && status.error_code() == grpc::UNAVAILABLE &&
          MoveOn(status.error_message()))
        continue;
      return Explain(status);
    }
  }
  // Gives up on the controller in use (`why`) for the next, reporting it:
  // false when it is the last. For a caller that may send its request
  // again (a read-only run).
  bool MoveOn(const std::string& why);

  // The controller calls go to now: the one that answered last.
  const std::string& address() const { return endpoints_[current_].address; }

  // Whether the RPC of the Controller service taking `request` and
  // returning `reply` is declared `idempotency_level = NO_SIDE_EFFECTS`;
  // false when none or several match.
  static bool HasNoSideEffects(const google::protobuf::Descriptor* request,
                               const google::protobuf::Descriptor* reply);

 private:
  struct Endpoint {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<ControllerStub> stub;
  };

  explicit ControllerClient(FailoverReport report)
      : report_(std::move(report)) {}

  // The stub of the first controller, from the current one on, whose
  // channel is READY; the error when none is by `deadline`.
  absl::StatusOr<ControllerStub*> Reach(absl::Time deadline);
  // Why `endpoint`'s channel did not connect, in gRPC's words.
  static std::string WhyNotConnected(Endpoint& endpoint);
  absl::Status Explain(const grpc::Status& status) const;

  FailoverReport report_;
  std::vector<Endpoint> endpoints_;
  size_t current_ = 0;
  // "A: why" for each controller given up on, for the error when none is
  // left.
  std::vector<std::string> given_up_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_CONTROLLER_CLIENT_H_
