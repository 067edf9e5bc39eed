#ifndef OPSAGENT_AGENT_SERVER_AGENT_SERVICE_H_
#define OPSAGENT_AGENT_SERVER_AGENT_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/ops/operation.h"
#include "agent/server/action_journal.h"
#include "agent/server/authorizer.h"
#include "agent/server/request_journal.h"
#include "agent/server/target_locks.h"
#include "common/tls/peer_identity.h"
#include "opsagent/v1/agent.grpc.pb.h"

namespace opsagent {

// The gRPC face of the agent. Each RPC is a thin call into Dispatch, which
// does what every operation needs, in one place: identity from the verified
// client certificate, request validation, deny-by-default authorization,
// concurrency limits, logging of every call and denial, and status mapping.
class AgentService final : public v1::OpsAgent::Service {
 public:
  // `journal` (may be null) records every change before it acts; the
  // request journal is restored from its history.
  AgentService(const AgentEnvironment& agent,
               std::unique_ptr<ActionJournal> journal);

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
  grpc::Status ListOpenDeletedFiles(grpc::ServerContext* context,
                                    const v1::OpenDeletedRequest* request,
                                    v1::OpenDeletedReply* reply) override;
  grpc::Status TruncateLog(grpc::ServerContext* context,
                           const v1::TruncateLogRequest* request,
                           v1::TruncateLogReply* reply) override;
  grpc::Status RestartService(grpc::ServerContext* context,
                              const v1::RestartServiceRequest* request,
                              v1::RestartServiceReply* reply) override;
  grpc::Status RunCommand(
      grpc::ServerContext* context, const v1::RunCommandRequest* request,
      grpc::ServerWriter<v1::RunCommandEvent>* writer) override;

 private:
  using Body = std::function<absl::Status(const OperationContext&)>;

  // `reply` is the unary reply (null for streams); a mutating operation's
  // reply is kept in the request journal and returned again to a retry.
  grpc::Status Dispatch(grpc::ServerContext* context, const OperationSpec& op,
                        const google::protobuf::Message& request,
                        const v1::RequestMeta& meta,
                        google::protobuf::Message* reply, const Body& body);
  // Journals a change before it acts; an error means it must not act.
  absl::Status JournalStart(const OperationSpec& op,
                            const google::protobuf::Message& request,
                            const v1::RequestMeta& meta,
                            const std::string& caller,
                            const std::string& digest);
  void JournalFinish(const OperationSpec& op, const v1::RequestMeta& meta,
                     const std::string& caller, const absl::Status& status,
                     const std::string& serialized_reply);
  bool TryAcquireScanSlot();
  void ReleaseScanSlot();

  const AgentEnvironment& agent_;
  PeerIdentityReader identities_;
  const Authorizer authorizer_;
  TargetLocks locks_;
  RequestJournal journal_;
  const std::unique_ptr<ActionJournal> action_journal_;
  absl::Mutex mutex_;
  uint32_t running_scans_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_AGENT_SERVICE_H_
