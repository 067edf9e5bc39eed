#ifndef OPSAGENT_CONTROLLER_AGENT_CLIENT_H_
#define OPSAGENT_CONTROLLER_AGENT_CLIENT_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls/credentials.h"
#include "opsagent/v1/agent.grpc.pb.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

// A mutual-TLS connection to one host's agent. The agent's certificate must
// chain to the operator's CA and name the inventory host (DNS SAN), so an
// agent certificate presented by the wrong host is refused.
class AgentClient {
 public:
  // `credentials` may be shared by the clients of many hosts.
  static std::unique_ptr<AgentClient> Connect(
      std::shared_ptr<grpc::ChannelCredentials> credentials,
      const v1::Host& host, absl::Duration timeout);
  static absl::StatusOr<std::unique_ptr<AgentClient>> Connect(
      const TlsFiles& tls, const v1::Host& host, absl::Duration timeout);

  absl::StatusOr<v1::InfoReply> GetInfo(const v1::InfoRequest& request);
  absl::StatusOr<v1::MemoryReply> GetMemory(const v1::MemoryRequest& request);
  absl::StatusOr<v1::FilesystemsReply> ListFilesystems(
      const v1::FilesystemsRequest& request);
  absl::StatusOr<v1::OpenDeletedReply> ListOpenDeletedFiles(
      const v1::OpenDeletedRequest& request);
  absl::StatusOr<v1::TruncateLogReply> TruncateLog(
      const v1::TruncateLogRequest& request);
  absl::StatusOr<v1::RestartServiceReply> RestartService(
      const v1::RestartServiceRequest& request);
  // Streams the command's output to `on_output` as it arrives.
  absl::StatusOr<v1::CommandResult> RunCommand(
      const v1::RunCommandRequest& request,
      const std::function<void(const v1::CommandOutput&)>& on_output);
  // Streams the scan; `on_progress` sees each progress event.
  absl::StatusOr<v1::DiskUsageResult> ScanDiskUsage(
      const v1::DiskUsageRequest& request,
      const std::function<void(const v1::DiskUsageProgress&)>& on_progress);

 private:
  AgentClient(std::unique_ptr<v1::OpsAgent::Stub> stub, absl::Duration timeout)
      : stub_(std::move(stub)), timeout_(timeout) {}

  void Prepare(grpc::ClientContext* context) const;

  std::unique_ptr<v1::OpsAgent::Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AGENT_CLIENT_H_
