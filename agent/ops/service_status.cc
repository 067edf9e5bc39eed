// service_status: what on-call types after a restart (`systemctl status`,
// `journalctl -u`), for a service of the agent's restartable list only.

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/ops/managed_service.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "common/human_size.h"
#include "common/status_macros.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

constexpr uint32_t kDefaultLogLines = 10;
constexpr uint32_t kMaxLogLines = 200;

absl::Status RunServiceStatus(const OperationContext& context,
                              const v1::ServiceStatusRequest& request,
                              v1::ServiceStatusReply* reply) {
  if (request.log_lines() > kMaxLogLines) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_lines ", request.log_lines(),
                     " is above the limit of ", kMaxLogLines));
  }
  const v1::AgentConfig& config = context.agent.config;
  ASSIGN_OR_RETURN(const v1::RestartableService* service,
                   FindManagedService(config, request.name()));
  ASSIGN_OR_RETURN(std::unique_ptr<ServiceController> controller,
                   OpenServiceController(config, *service));
  ASSIGN_OR_RETURN(ServiceDetails details, controller->Details());

  reply->set_name(service->name());
  reply->set_manager(ManagerOf(*service));
  CopyServiceState(details.status, reply->mutable_state());
  reply->set_up(controller->IsUp(details.status));
  if (details.since.has_value())
    reply->set_since_unix_ms(absl::ToUnixMillis(*details.since));
  reply->set_result(details.result);
  if (details.memory_bytes.has_value())
    reply->set_memory_bytes(*details.memory_bytes);
  if (details.tasks.has_value()) reply->set_tasks(*details.tasks);
  if (details.restarts.has_value()) reply->set_restarts(*details.restarts);
  const uint32_t lines =
      request.log_lines() == 0 ? kDefaultLogLines : request.log_lines();
  if (absl::StatusOr<std::vector<ServiceLogLine>> log =
          controller->RecentLog(lines);
      log.ok()) {
    CopyLogLines(*log, reply->mutable_recent_log());
  } else {
    reply->add_recent_log()->set_text(absl::StrCat(
        "(its log could not be read: ", log.status().message(), ")"));
  }

  const v1::ServiceState& state = reply->state();
  std::string summary =
      absl::StrCat(service->name(), " ", state.active_state(),
                   state.sub_state() == state.active_state()
                       ? ""
                       : absl::StrCat("/", state.sub_state()));
  if (details.since.has_value()) {
    absl::StrAppend(&summary, " since ",
                    absl::FormatTime(absl::RFC3339_sec, *details.since,
                                     absl::UTCTimeZone()),
                    " (",
                    absl::FormatDuration(absl::Trunc(
                        absl::Now() - *details.since, absl::Seconds(1))),
                    ")");
  }
  if (state.main_pid() > 0)
    absl::StrAppend(&summary, ", pid ", state.main_pid());
  if (reply->has_memory_bytes())
    absl::StrAppend(&summary, ", ", FormatHumanSize(reply->memory_bytes()));
  if (reply->has_restarts())
    absl::StrAppend(&summary, ", ", reply->restarts(), " restarts");
  if (!details.result.empty() && details.result != "success")
    absl::StrAppend(&summary, ", result ", details.result);
  reply->set_summary(summary);
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(GetServiceStatus, RunServiceStatus);

}  // namespace opsagent
