#ifndef OPSAGENT_AGENT_SERVER_AGENT_SERVICE_H_
#define OPSAGENT_AGENT_SERVER_AGENT_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/ops/operation.h"
#include "agent/server/authorizer.h"
#include "opsagent/v1/agent.grpc.pb.h"

namespace opsagent {

// The gRPC face of the agent. Each RPC is a thin call into Dispatch, which
// does what every operation needs, in one place: identity from the verified
// client certificate, request validation, deny-by-default authorization,
// concurrency limits, logging of every call and denial, and status mapping.
class AgentService final : public v1::OpsAgent::Service {
 public:
  explicit AgentService(const AgentEnvironment& agent);

  grpc::Status GetInfo(grpc::ServerContext* context,
                       const v1::InfoRequest* request,
                       v1::InfoReply* reply) override;
  grpc::Status GetMemory(grpc::ServerContext* context,
                         const v1::MemoryRequest* request,
                         v1::MemoryReply* reply) override;
  grpc::Status ListFilesystems(grpc::ServerContext* context,
                               const v1::FilesystemsRequest* request,
                               v1::FilesystemsReply* reply) override;
  grpc::Status ScanDiskUsage(
      grpc::ServerContext* context, const v1::DiskUsageRequest* request,
      grpc::ServerWriter<v1::DiskUsageEvent>* writer) override;

 private:
  using Body = std::function<absl::Status(const OperationContext&)>;

  grpc::Status Dispatch(grpc::ServerContext* context, const OperationSpec& op,
                        const v1::RequestMeta& meta, const Body& body);
  bool TryAcquireScanSlot();
  void ReleaseScanSlot();

  const AgentEnvironment& agent_;
  const Authorizer authorizer_;
  absl::Mutex mutex_;
  uint32_t running_scans_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_AGENT_SERVICE_H_
