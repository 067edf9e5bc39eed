#ifndef OPSAGENT_AGENT_SYSTEM_SUPERVISOR_PROGRAM_CONTROLLER_H_
#define OPSAGENT_AGENT_SYSTEM_SUPERVISOR_PROGRAM_CONTROLLER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/system/service_controller.h"

namespace opsagent {

// A supervisord program, driven with supervisorctl and a fixed argv
// (`supervisorctl -c CONFIG restart PROGRAM`, `... status PROGRAM`).
class SupervisorProgramController final : public ServiceController {
 public:
  SupervisorProgramController(std::string supervisorctl, std::string config,
                              std::string program)
      : supervisorctl_(std::move(supervisorctl)),
        config_(std::move(config)),
        program_(std::move(program)) {}

  absl::StatusOr<ServiceStatus> Status() override;
  absl::Status Restart(absl::Time deadline) override;
  bool IsUp(const ServiceStatus& status) const override {
    return status.active_state == "RUNNING";
  }

 private:
  std::string supervisorctl_;
  std::string config_;
  std::string program_;
};

// Parses one line of `supervisorctl status PROGRAM`:
// "xqwatcher                        RUNNING   pid 1234, uptime 0:01:02".
absl::StatusOr<ServiceStatus> ParseSupervisorStatus(absl::string_view program,
                                                    absl::string_view output);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_SUPERVISOR_PROGRAM_CONTROLLER_H_
