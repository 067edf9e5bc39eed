#include "controller/agent_client.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "grpcpp/create_channel.h"

namespace opsagent {
namespace {

// The call's status for the operator: a missed deadline says how long was
// waited and what it can mean, instead of gRPC's bare "Deadline Exceeded".
absl::Status CallStatus(const grpc::Status& status, absl::Duration timeout) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError(absl::StrCat(
        "deadline exceeded: no complete answer within ",
        absl::FormatDuration(timeout),
        " (the host may be cut off or overloaded, or the operation needs a "
        "longer --timeout)"));
  }
  return FromGrpcStatus(status);
}

template <typename Reply>
absl::StatusOr<Reply> Finish(const grpc::Status& status, Reply& reply,
                             absl::Duration timeout) {
  if (!status.ok()) return CallStatus(status, timeout);
  return std::move(reply);
}

}  // namespace

std::unique_ptr<AgentClient> AgentClient::Connect(
    std::shared_ptr<grpc::ChannelCredentials> credentials, const v1::Host& host,
    absl::Duration timeout) {
  grpc::ChannelArguments args;
  // Verify the agent's certificate against the inventory name, whatever
  // address the host is reached at.
  args.SetSslTargetNameOverride(host.name());
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(host.address(), credentials, args);
  return std::unique_ptr<AgentClient>(
      new AgentClient(v1::OpsAgent::NewStub(channel), timeout));
}

absl::StatusOr<std::unique_ptr<AgentClient>> AgentClient::Connect(
    const TlsFiles& tls, const v1::Host& host, absl::Duration timeout) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(tls);
  if (!credentials.ok()) return credentials.status();
  return Connect(*std::move(credentials), host, timeout);
}

void AgentClient::Prepare(grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
}

absl::StatusOr<v1::InfoReply> AgentClient::GetInfo(
    const v1::InfoRequest& request) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::InfoReply reply;
  const grpc::Status status = stub_->GetInfo(&context, request, &reply);
  return Finish(status, reply, timeout_);
}

absl::StatusOr<v1::MemoryReply> AgentClient::GetMemory(
    const v1::MemoryRequest& request) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::MemoryReply reply;
  const grpc::Status status = stub_->GetMemory(&context, request, &reply);
  return Finish(status, reply, timeout_);
}

absl::StatusOr<v1::FilesystemsReply> AgentClient::ListFilesystems(
    const v1::FilesystemsRequest& request) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::FilesystemsReply reply;
  const grpc::Status status = stub_->ListFilesystems(&context, request, &reply);
  return Finish(status, reply, timeout_);
}

absl::StatusOr<v1::OpenDeletedReply> AgentClient::ListOpenDeletedFiles(
    const v1::OpenDeletedRequest& request) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::OpenDeletedReply reply;
  const grpc::Status status =
      stub_->ListOpenDeletedFiles(&context, request, &reply);
  return Finish(status, reply, timeout_);
}

absl::StatusOr<v1::TruncateLogReply> AgentClient::TruncateLog(
    const v1::TruncateLogRequest& request) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::TruncateLogReply reply;
  const grpc::Status status = stub_->TruncateLog(&context, request, &reply);
  return Finish(status, reply, timeout_);
}

absl::StatusOr<v1::RestartServiceReply> AgentClient::RestartService(
    const v1::RestartServiceRequest& request) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::RestartServiceReply reply;
  const grpc::Status status = stub_->RestartService(&context, request, &reply);
  return Finish(status, reply, timeout_);
}

absl::StatusOr<v1::DiskUsageResult> AgentClient::ScanDiskUsage(
    const v1::DiskUsageRequest& request,
    const std::function<void(const v1::DiskUsageProgress&)>& on_progress) {
  grpc::ClientContext context;
  Prepare(&context);
  std::unique_ptr<grpc::ClientReader<v1::DiskUsageEvent>> reader =
      stub_->ScanDiskUsage(&context, request);
  v1::DiskUsageEvent event;
  v1::DiskUsageResult result;
  bool have_result = false;
  while (reader->Read(&event)) {
    if (event.has_progress() && on_progress) on_progress(event.progress());
    if (event.has_result()) {
      result = std::move(*event.mutable_result());
      have_result = true;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return CallStatus(status, timeout_);
  if (!have_result)
    return absl::DataLossError("the agent ended the scan without a result");
  return result;
}

absl::StatusOr<v1::CommandResult> AgentClient::RunCommand(
    const v1::RunCommandRequest& request,
    const std::function<void(const v1::CommandOutput&)>& on_output) {
  grpc::ClientContext context;
  Prepare(&context);
  std::unique_ptr<grpc::ClientReader<v1::RunCommandEvent>> reader =
      stub_->RunCommand(&context, request);
  v1::RunCommandEvent event;
  std::optional<v1::CommandResult> result;
  while (reader->Read(&event)) {
    if (event.has_output() && on_output) on_output(event.output());
    if (event.has_result()) result = std::move(*event.mutable_result());
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return CallStatus(status, timeout_);
  if (!result)
    return absl::DataLossError("the agent ended the command without a result");
  return *std::move(result);
}

}  // namespace opsagent
