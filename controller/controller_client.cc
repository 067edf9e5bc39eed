#include "controller/controller_client.h"

#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/tls/credentials.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"

namespace opsagent {
namespace {

// Replies (a page of the audit log) may be large; still bounded.
constexpr int kMaxReceiveBytes = 64 << 20;

// A method no controller serves: asked of a channel that failed to connect,
// with wait_for_ready off, gRPC fails it at once with the connection's
// error; a controller that connected meanwhile answers UNIMPLEMENTED and
// does nothing.
constexpr char kProbeMethod[] = "/opsagent.v1.Controller/ConnectivityProbe";

}  // namespace

absl::StatusOr<std::unique_ptr<ControllerClient>> ControllerClient::Connect(
    const v1::OperatorConfig& config, FailoverReport report) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(
          {config.certificate(), config.private_key(), config.ca_certificate()},
          "controller");
  if (!credentials.ok()) return credentials.status();
  std::unique_ptr<ControllerClient> client(
      new ControllerClient(std::move(report)));
  // Each certificate must name its controller (operator_config fills the
  // names in from the addresses when they are not given).
  std::vector<std::pair<std::string, std::string>> listed = {
      {config.controller(), config.controller_name()}};
  for (const v1::ControllerAddress& more : config.more_controllers())
    listed.emplace_back(more.address(), more.name());
  for (const auto& [address, name] : listed) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(name);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
    Endpoint endpoint;
    endpoint.address = address;
    endpoint.channel = grpc::CreateCustomChannel(address, *credentials, args);
    endpoint.stub = v1::Controller::NewStub(endpoint.channel);
    client->endpoints_.push_back(std::move(endpoint));
  }
  return client;
}

bool ControllerClient::HasNoSideEffects(
    const google::protobuf::Descriptor* request,
    const google::protobuf::Descriptor* reply) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::Controller::service_full_name());
  if (service == nullptr) return false;
  const google::protobuf::MethodDescriptor* found = nullptr;
  for (int i = 0; i < service->method_count(); ++i) {
    const google::protobuf::MethodDescriptor* method = service->method(i);
    if (method->input_type() != request || method->output_type() != reply)
      continue;
    if (found != nullptr) return false;
    found = method;
  }
  return found != nullptr && !found->client_streaming() &&
         found->options().idempotency_level() ==
             google::protobuf::MethodOptions::NO_SIDE_EFFECTS;
}

bool ControllerClient::MoveOn(const std::string& why) {
  given_up_.push_back(absl::StrCat(address(), ": ", why));
  if (current_ + 1 >= endpoints_.size()) return false;
  const std::string from = address();
  ++current_;
  if (report_)
    report_(absl::StrCat("controller ", from, " unreachable (", why,
                         "); using ", address()));
  return true;
}

std::string ControllerClient::WhyNotConnected(Endpoint& endpoint) {
  grpc::GenericStub probe(endpoint.channel);
  grpc::ClientContext context;
  context.set_wait_for_ready(false);
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
  // An empty message, as bytes: a ByteBuffer with no slice is no message.
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer reply;
  std::promise<grpc::Status> done;
  probe.UnaryCall(
      &context, kProbeMethod, grpc::StubOptions(), &request, &reply,
      [&done](grpc::Status status) { done.set_value(std::move(status)); });
  const grpc::Status status = done.get_future().get();
  if (status.error_code() == grpc::UNAVAILABLE &&
      !status.error_message().empty())
    return status.error_message();
  return "the connection or its TLS handshake failed";
}

absl::StatusOr<ControllerStub*> ControllerClient::Reach(absl::Time deadline) {
  for (;;) {
    Endpoint& endpoint = endpoints_[current_];
    const bool last = current_ + 1 == endpoints_.size();
    // One that is not the last leaves the next at least half the time.
    const absl::Duration allotted =
        last ? deadline - absl::Now()
             : std::min(kConnectLimit, (deadline - absl::Now()) / 2);
    const absl::Time limit = absl::Now() + allotted;
    grpc_connectivity_state state = endpoint.channel->GetState(true);
    std::string why;
    while (state != GRPC_CHANNEL_READY) {
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
          state == GRPC_CHANNEL_SHUTDOWN) {
        why = WhyNotConnected(endpoint);
        break;
      }
      if (!endpoint.channel->WaitForStateChange(state,
                                                absl::ToChronoTime(limit))) {
        why = last ? std::string("no connection before the call's deadline")
                   : absl::StrCat("not connected within ",
                                  absl::FormatDuration(absl::Trunc(
                                      allotted, absl::Milliseconds(100))));
        break;
      }
      state = endpoint.channel->GetState(true);
    }
    if (state == GRPC_CHANNEL_READY) return endpoint.stub.get();
    if (!MoveOn(why)) {
      return Explain(grpc::Status(
          absl::Now() >= deadline ? grpc::DEADLINE_EXCEEDED : grpc::UNAVAILABLE,
          why));
    }
  }
}

absl::Status ControllerClient::Explain(const grpc::Status& status) const {
  const absl::StatusCode code =
      static_cast<absl::StatusCode>(status.error_code());
  if (code != absl::StatusCode::kUnavailable &&
      code != absl::StatusCode::kDeadlineExceeded)
    return absl::Status(code, status.error_message());
  const std::string direct =
      "; if it is down, `opsctl --direct ...` talks to the agents directly "
      "and audits locally (break-glass)";
  if (endpoints_.size() == 1) {
    return absl::Status(
        code, absl::StrCat("cannot reach the controller at ", address(), " (",
                           status.error_message(), ")", direct));
  }
  // Every controller tried: each with its reason.
  std::vector<std::string> tried = given_up_;
  if (tried.empty() || !absl::StartsWith(tried.back(), address() + ": "))
    tried.push_back(absl::StrCat(address(), ": ", status.error_message()));
  if (tried.size() < endpoints_.size()) {
    // Lost mid-call: the others were not tried (and, for a change, must
    // not be).
    return absl::Status(code, absl::StrCat("lost the controller at ", address(),
                                           " (", status.error_message(), ")"));
  }
  return absl::Status(
      code,
      absl::StrCat("cannot reach any of the ", endpoints_.size(),
                   " controllers (", absl::StrJoin(tried, "; "), ")", direct));
}

absl::Status ControllerClient::Run(
    const v1::RunRequest& request, absl::Time deadline,
    const std::function<void(const v1::RunEvent&)>& on_event,
    RunAttempt* attempt) {
  RunAttempt ignored;
  if (attempt == nullptr) attempt = &ignored;
  *attempt = RunAttempt();
  absl::StatusOr<ControllerStub*> stub = Reach(deadline);
  if (!stub.ok()) return stub.status();
  // From here the request may be on its way: never sent elsewhere by this.
  attempt->sent = true;
  grpc::ClientContext context;
  // A controller that stops answering mid-run (a stalled connection) must
  // not hold the caller, a person or opsctld's diagnosis, forever.
  context.set_deadline(absl::ToChronoTime(deadline));
  std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader =
      (*stub)->Run(&context, request);
  for (v1::RunEvent event; reader->Read(&event);) on_event(event);
  const grpc::Status status = reader->Finish();
  if (status.ok()) return absl::OkStatus();
  switch (status.error_code()) {
    case grpc::UNAVAILABLE:
    case grpc::DEADLINE_EXCEEDED:
    case grpc::CANCELLED:
    case grpc::UNKNOWN:
    case grpc::INTERNAL:
    case grpc::DATA_LOSS:
      attempt->lost = status.error_message().empty()
                          ? std::string("the connection was lost")
                          : status.error_message();
      break;
    default:
      break;
  }
  return Explain(status);
}

}  // namespace opsagent
