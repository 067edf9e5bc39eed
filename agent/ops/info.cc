#include <sys/utsname.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/system/proc_file.h"
#include "common/tls/certificate_info.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

absl::Status RunInfo(const OperationContext& context,
                     const v1::InfoRequest& /*request*/, v1::InfoReply* reply) {
  const v1::AgentConfig& config = context.agent.config;
  reply->set_agent_version(context.agent.version);
  reply->set_hostname(config.hostname());
  *reply->mutable_roles() = config.roles();
  *reply->mutable_inspection_roots() = config.inspection_roots();
  reply->set_agent_uptime_seconds(
      absl::ToInt64Seconds(absl::Now() - context.agent.started_at));
  if (absl::StatusOr<std::string> uptime = ReadProcFile("/proc/uptime");
      uptime.ok()) {
    double seconds = 0;
    std::vector<absl::string_view> fields = absl::StrSplit(*uptime, ' ');
    if (absl::SimpleAtod(fields[0], &seconds))
      reply->set_host_uptime_seconds(static_cast<int64_t>(seconds));
  }
  struct utsname names;
  if (uname(&names) == 0) reply->set_kernel_release(names.release);
  // Kept in memory by the agent's trust (read when it takes a new
  // certificate); read from the file only by a gate without one.
  absl::StatusOr<absl::Time> not_after;
  if (context.own_certificate_not_after) {
    not_after = context.own_certificate_not_after();
  } else {
    absl::StatusOr<CertificateInfo> cert =
        ReadCertificateFile(config.tls().certificate());
    not_after =
        cert.ok() ? absl::StatusOr<absl::Time>(cert->not_after) : cert.status();
  }
  if (!not_after.ok()) return not_after.status();
  reply->set_certificate_not_after_unix(absl::ToUnixSeconds(*not_after));
  reply->set_caller_identity(context.caller.name);
  for (const std::string& role : context.caller.roles)
    reply->add_caller_roles(role);
  for (const std::string& op : context.caller_operations())
    reply->add_caller_operations(op);
  *reply->mutable_truncatable_logs() = config.truncatable_logs();
  for (const v1::RestartableService& service : config.restartable()) {
    v1::AllowedService* allowed = reply->add_restartable();
    allowed->set_name(service.name());
    allowed->set_manager(service.manager());
  }
  for (const v1::VettedCommand& command : config.command()) {
    v1::AllowedCommand* allowed = reply->add_commands();
    allowed->set_name(command.name());
    allowed->set_description(command.description());
    *allowed->mutable_params() = command.params();
    allowed->set_read_only(command.read_only());
    *allowed->mutable_roles() = command.roles();
  }
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(GetInfo, RunInfo);

}  // namespace opsagent
