#include "agent/ops/managed_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/system/supervisor_program_controller.h"
#include "agent/system/systemd_unit_controller.h"

namespace opsagent {

absl::StatusOr<const v1::RestartableService*> FindManagedService(
    const v1::AgentConfig& config, absl::string_view name) {
  std::vector<std::string> names;
  for (const v1::RestartableService& service : config.restartable()) {
    if (service.name() == name) return &service;
    names.push_back(service.name());
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "\"", name, "\" is not restartable on this host (restartable: [",
      absl::StrJoin(names, ", "), "])"));
}

absl::StatusOr<std::unique_ptr<ServiceController>> OpenServiceController(
    const v1::AgentConfig& config, const v1::RestartableService& service) {
  if (service.manager() == v1::SUPERVISOR_PROGRAM) {
    const std::string ctl = config.supervisor().supervisorctl().empty()
                                ? "/usr/bin/supervisorctl"
                                : config.supervisor().supervisorctl();
    return std::unique_ptr<ServiceController>(new SupervisorProgramController(
        ctl, config.supervisor().config(), service.name()));
  }
  absl::StatusOr<std::unique_ptr<SystemdUnitController>> unit =
      SystemdUnitController::Connect(config.systemd().bus_address(),
                                     service.name());
  if (!unit.ok()) return unit.status();
  return std::unique_ptr<ServiceController>(std::move(*unit));
}

v1::ServiceManager ManagerOf(const v1::RestartableService& service) {
  return service.manager() == v1::SUPERVISOR_PROGRAM ? v1::SUPERVISOR
                                                     : v1::SYSTEMD;
}

void CopyServiceState(const ServiceStatus& from, v1::ServiceState* to) {
  to->set_active_state(from.active_state);
  to->set_sub_state(from.sub_state);
  to->set_main_pid(from.main_pid);
}

void CopyLogLines(const std::vector<ServiceLogLine>& from,
                  google::protobuf::RepeatedPtrField<v1::ServiceLogLine>* to) {
  for (const ServiceLogLine& line : from) {
    v1::ServiceLogLine* out = to->Add();
    if (line.time.has_value())
      out->set_time_unix_micros(absl::ToUnixMicros(*line.time));
    out->set_source(line.source);
    out->set_text(line.text);
  }
}

}  // namespace opsagent
