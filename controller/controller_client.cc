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
    const v1::RunRequest& request,
    const std::function<void(const v1::RunEvent&)>& on_event) {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader =
      stub_->Run(&context, request);
  for (v1::RunEvent event; reader->Read(&event);) on_event(event);
  return Explain(reader->Finish());
}

absl::StatusOr<v1::SelectHostsReply> ControllerClient::SelectHosts(
    const std::string& target, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::SelectHostsRequest request;
  request.set_target(target);
  v1::SelectHostsReply reply;
  grpc::Status status = stub_->SelectHosts(&context, request, &reply);
  if (!status.ok()) return Explain(status);
  return reply;
}

absl::StatusOr<v1::ListHostsReply> ControllerClient::ListHosts(
    absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ListHostsReply reply;
  grpc::Status status = stub_->ListHosts(&context, {}, &reply);
  if (!status.ok()) return Explain(status);
  return reply;
}

absl::StatusOr<v1::AuditQueryReply> ControllerClient::QueryAudit(
    const v1::AuditQuery& query, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::AuditQueryReply reply;
  grpc::Status status = stub_->QueryAudit(&context, query, &reply);
  if (!status.ok()) return Explain(status);
  return reply;
}

absl::StatusOr<v1::VerifyAuditReply> ControllerClient::VerifyAudit(
    const v1::VerifyAuditRequest& request, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::VerifyAuditReply reply;
  grpc::Status status = stub_->VerifyAudit(&context, request, &reply);
  if (!status.ok()) return Explain(status);
  return reply;
}

absl::StatusOr<v1::ExportAuditReply> ControllerClient::ExportAudit(
    const v1::ExportAuditRequest& request, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ExportAuditReply reply;
  grpc::Status status = stub_->ExportAudit(&context, request, &reply);
  if (!status.ok()) return Explain(status);
  return reply;
}

absl::StatusOr<v1::ListIncidentsReply> ControllerClient::ListIncidents(
    const v1::ListIncidentsRequest& request, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ListIncidentsReply reply;
  grpc::Status status = stub_->ListIncidents(&context, request, &reply);
  if (!status.ok()) return Explain(status);
  return reply;
}

absl::StatusOr<v1::Incident> ControllerClient::GetIncident(
    const std::string& id, const std::string& alerts_after,
    absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::GetIncidentRequest request;
  request.set_id(id);
  request.set_alerts_after(alerts_after);
  v1::Incident reply;
  grpc::Status status = stub_->GetIncident(&context, request, &reply);
  if (!status.ok()) return Explain(status);
  return reply;
}

absl::Status ControllerClient::RecordGuidedStep(
    const v1::GuidedStepRecord& record, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::GuidedStepRecorded reply;
  grpc::Status status = stub_->RecordGuidedStep(&context, record, &reply);
  if (!status.ok()) return Explain(status);
  return absl::OkStatus();
}

absl::StatusOr<v1::Runbook> ControllerClient::GetRunbooks(
    absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::Runbook reply;
  grpc::Status status = stub_->GetRunbooks(&context, {}, &reply);
  if (!status.ok()) return Explain(status);
  return reply;
}

}  // namespace opsagent
