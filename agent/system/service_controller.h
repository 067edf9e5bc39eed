#ifndef OPSAGENT_AGENT_SYSTEM_SERVICE_CONTROLLER_H_
#define OPSAGENT_AGENT_SYSTEM_SERVICE_CONTROLLER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace opsagent {

// A service's state as its manager reports it.
struct ServiceStatus {
  std::string active_state;  // systemd ActiveState ("active"); supervisord
                             // state ("RUNNING")
  std::string sub_state;  // systemd SubState ("running"); supervisord: same as
                          // active_state
  int main_pid = 0;
};

// Restarts one service through its manager (systemd or supervisord) and
// reports its state. Implementations never run a shell.
class ServiceController {
 public:
  virtual ~ServiceController() = default;

  virtual absl::StatusOr<ServiceStatus> Status() = 0;

  // Asks the manager to restart the service and waits, at most until
  // `deadline`, for the manager to finish. An error says how it failed.
  virtual absl::Status Restart(absl::Time deadline) = 0;

  // True when `status` means the service is up.
  virtual bool IsUp(const ServiceStatus& status) const = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_SERVICE_CONTROLLER_H_
