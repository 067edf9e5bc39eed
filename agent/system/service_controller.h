#ifndef OPSAGENT_AGENT_SYSTEM_SERVICE_CONTROLLER_H_
#define OPSAGENT_AGENT_SYSTEM_SERVICE_CONTROLLER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// What `systemctl status` or `supervisorctl status` says beyond the state.
// Each optional is empty when the manager does not report it (supervisord
// knows no memory or restart count; systemd without memory accounting).
struct ServiceDetails {
  ServiceStatus status;
  // Since when the service is in its state (systemctl's "since").
  std::optional<absl::Time> since;
  // systemd: the unit's Result ("exit-code", "timeout"); supervisord: the
  // text after the state ("Exited too quickly (process log may have
  // details)").
  std::string result;
  std::optional<uint64_t> memory_bytes;  // the unit's cgroup
  std::optional<uint64_t> tasks;         // the unit's cgroup
  std::optional<uint32_t> restarts;      // systemd NRestarts
};

// One line the service logged, oldest first in a list.
struct ServiceLogLine {
  std::optional<absl::Time> time;  // unknown for supervisord's log files
  // Who wrote it: "flaky[123]" (journal identifier and pid), or "stdout" /
  // "stderr" for a supervisord program.
  std::string source;
  std::string text;  // escaped host text (common/host_text.h)
};

// Restarts one service through its manager (systemd or supervisord) and
// reports its state. Implementations never run a shell.
class ServiceController {
 public:
  virtual ~ServiceController() = default;

  virtual absl::StatusOr<ServiceStatus> Status() = 0;

  virtual absl::StatusOr<ServiceDetails> Details() = 0;

  // At most `lines` of what the service logged last, oldest first: its
  // journal (systemd) or the tail of its log files (supervisord).
  virtual absl::StatusOr<std::vector<ServiceLogLine>> RecentLog(
      size_t lines) = 0;

  // Asks the manager to restart the service and waits, at most until
  // `deadline`, for the manager to finish. An error says how it failed.
  virtual absl::Status Restart(absl::Time deadline) = 0;

  // True when `status` means the service is up.
  virtual bool IsUp(const ServiceStatus& status) const = 0;
};

// Longest log line kept, in bytes before escaping; longer ones end in "…".
inline constexpr size_t kMaxServiceLogLineBytes = 1024;

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_SERVICE_CONTROLLER_H_
