#include "controller/controller_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/tls/credentials.h"
#include "grpcpp/create_channel.h"

namespace opsagent {
namespace {

// Replies (a page of the audit log) may be large; still bounded.
constexpr int kMaxReceiveBytes = 64 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<ControllerClient>> ControllerClient::Connect(
    const v1::OperatorConfig& config) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(
          {config.certificate(), config.private_key(), config.ca_certificate()},
          "controller");
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  // Its certificate must name the controller (operator_config fills the
  // name in from the address when it is not given).
  args.SetSslTargetNameOverride(config.controller_name());
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  return std::unique_ptr<ControllerClient>(new ControllerClient(
      config.controller(),
      grpc::CreateCustomChannel(config.controller(), *credentials, args)));
}

absl::Status ControllerClient::Explain(const grpc::Status& status) const {
  const absl::StatusCode code =
      static_cast<absl::StatusCode>(status.error_code());
  if (code != absl::StatusCode::kUnavailable &&
      code != absl::StatusCode::kDeadlineExceeded)
    return absl::Status(code, status.error_message());
  return absl::Status(
      code, absl::StrCat("cannot reach the controller at ", address_, " (",
                         status.error_message(),
                         "); if it is down, `opsctl --direct ...` talks to the "
                         "agents directly and audits locally (break-glass)"));
}

absl::Status ControllerClient::Run(
    const v1::RunRequest& request, absl::Time deadline,
    const std::function<void(const v1::RunEvent&)>& on_event) {
  grpc::ClientContext context;
  // A controller that stops answering mid-run (a stalled connection) must
  // not hold the caller, a person or opsctld's diagnosis, forever.
  context.set_deadline(absl::ToChronoTime(deadline));
  std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader =
      stub_->Run(&context, request);
  for (v1::RunEvent event; reader->Read(&event);) on_event(event);
  return Explain(reader->Finish());
}

}  // namespace opsagent
