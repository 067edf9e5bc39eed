#include "agent/server/agent_service.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/ops/disk_usage.h"
#include "agent/ops/filesystems.h"
#include "agent/ops/info.h"
#include "agent/ops/memory.h"
#include "agent/ops/open_deleted.h"
#include "agent/ops/restart_service.h"
#include "agent/ops/run_command.h"
#include "agent/ops/truncate_log.h"
#include "agent/server/printable_reply.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/tls/peer_identity.h"
#include "common/utf8.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr size_t kMaxRequestIdBytes = 128;
constexpr size_t kMaxReasonBytes = 1024;

absl::Status CheckText(absl::string_view field, absl::string_view value,
                       size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", max_bytes, " bytes"));
  }
  if (!IsValidUtf8(value))
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not valid UTF-8"));
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " contains a control character"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMeta(const v1::RequestMeta& meta) {
  for (auto [field, value, max] :
       {std::tuple{"request_id", &meta.request_id(), kMaxRequestIdBytes},
        {"reason", &meta.reason(), kMaxReasonBytes},
        {"incident", &meta.incident(), kMaxRequestIdBytes},
        {"run_id", &meta.run_id(), kMaxRequestIdBytes}}) {
    if (absl::Status status = CheckText(field, *value, max); !status.ok())
      return status;
  }
  return absl::OkStatus();
}

}  // namespace

AgentService::AgentService(const AgentEnvironment& agent,
                           std::unique_ptr<ActionJournal> journal)
    : agent_(agent),
      authorizer_(std::vector<v1::AuthorizationRule>(
          agent.config.authorization().begin(),
          agent.config.authorization().end())),
      action_journal_(std::move(journal)) {
  if (action_journal_ != nullptr) journal_.Restore(action_journal_->history());
}

absl::Status AgentService::JournalStart(
    const OperationSpec& op, const google::protobuf::Message& request,
    const v1::RequestMeta& meta, const std::string& caller,
    const std::string& digest) {
  if (action_journal_ == nullptr) return absl::OkStatus();
  v1::JournalRecord record;
  record.set_event(v1::JournalRecord::STARTED);
  record.set_request_id(meta.request_id());
  record.set_operation(std::string(op.name));
  record.set_caller(caller);
  record.set_incident(meta.incident());
  record.set_reason(meta.reason());
  record.set_dry_run(meta.dry_run());
  record.set_run_id(meta.run_id());
  record.mutable_request()->PackFrom(request);
  record.set_request_digest(digest);
  absl::Status status = action_journal_->Append(std::move(record));
  if (!status.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to act unrecorded: ", status.message()));
  }
  return absl::OkStatus();
}

void AgentService::JournalFinish(const OperationSpec& op,
                                 const v1::RequestMeta& meta,
                                 const std::string& caller,
                                 const absl::Status& status,
                                 const std::string& serialized_reply) {
  if (action_journal_ == nullptr) return;
  v1::JournalRecord record;
  record.set_event(v1::JournalRecord::FINISHED);
  record.set_request_id(meta.request_id());
  record.set_operation(std::string(op.name));
  record.set_caller(caller);
  record.set_status_code(static_cast<int>(status.code()));
  record.set_status_message(std::string(status.message()));
  record.set_reply(serialized_reply);
  if (absl::Status written = action_journal_->Append(std::move(record));
      !written.ok()) {
    spdlog::error("{} request={} finished but is not in the journal: {}",
                  op.name, meta.request_id(), written.message());
  }
}

bool AgentService::TryAcquireScanSlot() {
  absl::MutexLock lock(&mutex_);
  if (running_scans_ >= agent_.config.limits().max_concurrent_scans())
    return false;
  ++running_scans_;
  return true;
}

void AgentService::ReleaseScanSlot() {
  absl::MutexLock lock(&mutex_);
  --running_scans_;
}

grpc::Status AgentService::Dispatch(grpc::ServerContext* context,
                                    const OperationSpec& op,
                                    const google::protobuf::Message& request,
                                    const v1::RequestMeta& meta,
                                    google::protobuf::Message* reply,
                                    const Body& body) {
  const absl::Time start = absl::Now();
  const std::string peer = context->peer();
  absl::StatusOr<PeerIdentity> caller =
      identities_.Read(*context->auth_context());
  if (!caller.ok()) {
    spdlog::warn("denied {} from {}: {}", op.name, peer,
                 caller.status().message());
    return ToGrpcStatus(caller.status());
  }
  if (absl::Status status = CheckMeta(meta); !status.ok()) {
    spdlog::warn("rejected {} by {} from {}: {}", op.name, caller->ToString(),
                 peer, status.message());
    return ToGrpcStatus(status);
  }
  if (absl::Status status = authorizer_.Authorize(*caller, op.name);
      !status.ok()) {
    spdlog::warn("denied {} by {} from {} request={}: {}", op.name,
                 caller->ToString(), peer, meta.request_id(), status.message());
    return ToGrpcStatus(status);
  }
  const bool mutating = op.kind == OperationKind::kMutating;
  if (mutating && meta.request_id().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        op.name,
        " changes the host and needs a request_id (for safe retries)")));
  }
  const std::string digest =
      mutating ? RequestJournal::Digest(request) : std::string();
  if (mutating) {
    std::optional<absl::StatusOr<RequestJournal::Outcome>> earlier =
        journal_.Claim(meta.request_id(), std::string(op.name),
                       caller->ToString(), digest);
    if (earlier.has_value()) {
      if (!earlier->ok()) {
        spdlog::warn("refused {} by {} request={}: {}", op.name,
                     caller->ToString(), meta.request_id(),
                     earlier->status().message());
        return ToGrpcStatus(earlier->status());
      }
      spdlog::info(
          "replayed {} by {} request={}: returning the first outcome, not "
          "acting again",
          op.name, caller->ToString(), meta.request_id());
      if (reply != nullptr)
        reply->ParseFromString((*earlier)->serialized_reply);
      return ToGrpcStatus((*earlier)->status);
    }
  }
  if (op.heavy && !TryAcquireScanSlot()) {
    absl::Status busy = absl::ResourceExhaustedError(absl::StrCat(
        agent_.config.limits().max_concurrent_scans(),
        " scans are already running on this agent; try again shortly"));
    spdlog::warn("refused {} by {} request={}: {}", op.name, caller->ToString(),
                 meta.request_id(), busy.message());
    return ToGrpcStatus(busy);
  }
  if (mutating) {
    if (absl::Status status =
            JournalStart(op, request, meta, caller->ToString(), digest);
        !status.ok()) {
      spdlog::error("refused {} by {} request={}: {}", op.name,
                    caller->ToString(), meta.request_id(), status.message());
      journal_.Finish(meta.request_id(), {status, ""});
      if (op.heavy) ReleaseScanSlot();
      return ToGrpcStatus(status);
    }
  }
  OperationContext op_context{agent_,
                              *caller,
                              [this, identity = *caller] {
                                return authorizer_.AllowedOperations(identity);
                              },
                              absl::FromChrono(context->deadline()),
                              [context] { return context->IsCancelled(); },
                              meta.dry_run(),
                              &locks_};
  spdlog::info("start {} by {} request={} incident=\"{}\" reason=\"{}\"{}",
               op.name, caller->ToString(), meta.request_id(), meta.incident(),
               meta.reason(), mutating && meta.dry_run() ? " (dry run)" : "");
  absl::Status status = MakePrintable(body(op_context));
  if (reply != nullptr && MakeStringsPrintable(reply) > 0) {
    spdlog::warn("{} request={}: the reply held unprintable text; escaped",
                 op.name, meta.request_id());
  }
  if (op.heavy) ReleaseScanSlot();
  if (mutating) {
    const std::string serialized_reply =
        reply != nullptr ? reply->SerializeAsString() : "";
    JournalFinish(op, meta, caller->ToString(), status, serialized_reply);
    journal_.Finish(meta.request_id(), {status, serialized_reply});
  }
  const int64_t ms = absl::ToInt64Milliseconds(absl::Now() - start);
  if (status.ok()) {
    spdlog::info("done {} by {} request={} ok in {} ms", op.name,
                 caller->ToString(), meta.request_id(), ms);
  } else {
    spdlog::warn("done {} by {} request={} failed in {} ms: {}", op.name,
                 caller->ToString(), meta.request_id(), ms, status.ToString());
  }
  return ToGrpcStatus(status);
}

grpc::Status AgentService::GetInfo(grpc::ServerContext* context,
                                   const v1::InfoRequest* request,
                                   v1::InfoReply* reply) {
  return Dispatch(
      context, kInfoOperation, *request, request->meta(), reply,
      [&](const OperationContext& op) { return RunInfo(op, *request, reply); });
}

grpc::Status AgentService::GetMemory(grpc::ServerContext* context,
                                     const v1::MemoryRequest* request,
                                     v1::MemoryReply* reply) {
  return Dispatch(context, kMemoryOperation, *request, request->meta(), reply,
                  [&](const OperationContext& op) {
                    return RunMemory(op, *request, reply);
                  });
}

grpc::Status AgentService::ListFilesystems(
    grpc::ServerContext* context, const v1::FilesystemsRequest* request,
    v1::FilesystemsReply* reply) {
  return Dispatch(context, kFilesystemsOperation, *request, request->meta(),
                  reply, [&](const OperationContext& op) {
                    return RunFilesystems(op, *request, reply);
                  });
}

grpc::Status AgentService::ScanDiskUsage(
    grpc::ServerContext* context, const v1::DiskUsageRequest* request,
    grpc::ServerWriter<v1::DiskUsageEvent>* writer) {
  return Dispatch(context, kDiskUsageOperation, *request, request->meta(),
                  nullptr, [&](const OperationContext& op) {
                    return RunDiskUsage(op, *request,
                                        [writer](v1::DiskUsageEvent event) {
                                          MakeStringsPrintable(&event);
                                          return writer->Write(event);
                                        });
                  });
}

grpc::Status AgentService::ListOpenDeletedFiles(
    grpc::ServerContext* context, const v1::OpenDeletedRequest* request,
    v1::OpenDeletedReply* reply) {
  return Dispatch(context, kOpenDeletedOperation, *request, request->meta(),
                  reply, [&](const OperationContext& op) {
                    return RunOpenDeleted(op, *request, reply);
                  });
}

grpc::Status AgentService::TruncateLog(grpc::ServerContext* context,
                                       const v1::TruncateLogRequest* request,
                                       v1::TruncateLogReply* reply) {
  return Dispatch(context, kTruncateLogOperation, *request, request->meta(),
                  reply, [&](const OperationContext& op) {
                    return RunTruncateLog(op, *request, reply);
                  });
}

grpc::Status AgentService::RestartService(
    grpc::ServerContext* context, const v1::RestartServiceRequest* request,
    v1::RestartServiceReply* reply) {
  return Dispatch(context, kRestartServiceOperation, *request, request->meta(),
                  reply, [&](const OperationContext& op) {
                    return RunRestartService(op, *request, reply);
                  });
}

grpc::Status AgentService::RunCommand(
    grpc::ServerContext* context, const v1::RunCommandRequest* request,
    grpc::ServerWriter<v1::RunCommandEvent>* writer) {
  v1::CommandResult result;
  grpc::Status status =
      Dispatch(context, kRunCommandOperation, *request, request->meta(),
               &result, [&](const OperationContext& op) {
                 return RunVettedCommand(
                     op, *request,
                     [writer](v1::RunCommandEvent event) {
                       MakeStringsPrintable(&event);
                       return writer->Write(event);
                     },
                     &result);
               });
  // Sent last, also when a retried request id replays the first outcome.
  if (status.ok()) {
    v1::RunCommandEvent final;
    *final.mutable_result() = result;
    writer->Write(final);
  }
  return status;
}

}  // namespace opsagent
