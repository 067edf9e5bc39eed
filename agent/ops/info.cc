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
  absl::StatusOr<CertificateInfo> cert =
      ReadCertificateFile(config.tls().certificate());
  if (!cert.ok()) return cert.status();
  reply->set_certificate_not_after_unix(absl::ToUnixSeconds(cert->not_after));
  reply->set_caller_identity(context.caller.name);
  for (const std::string& role : context.caller.roles)
    reply->add_caller_roles(role);
  for (const std::string& op : context.caller_operations())
    reply->add_caller_operations(op);
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(GetInfo, RunInfo);

}  // namespace opsagent
