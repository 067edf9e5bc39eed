#ifndef OPSAGENT_AGENT_OPS_MANAGED_SERVICE_H_
#define OPSAGENT_AGENT_OPS_MANAGED_SERVICE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/system/service_controller.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/agent_config.pb.h"

namespace opsagent {

// The services of the agent's `restartable` list, as operations on services
// (restart_service, service_status) find them: by the exact name a caller
// sent, any other name refused with the list of allowed ones.
absl::StatusOr<const v1::RestartableService*> FindManagedService(
    const v1::AgentConfig& config, absl::string_view name);

// A controller for `service` through its manager (systemd or supervisord).
absl::StatusOr<std::unique_ptr<ServiceController>> OpenServiceController(
    const v1::AgentConfig& config, const v1::RestartableService& service);

// How the manager is named in replies.
v1::ServiceManager ManagerOf(const v1::RestartableService& service);

void CopyServiceState(const ServiceStatus& from, v1::ServiceState* to);

void CopyLogLines(const std::vector<ServiceLogLine>& from,
                  google::protobuf::RepeatedPtrField<v1::ServiceLogLine>* to);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_MANAGED_SERVICE_H_
