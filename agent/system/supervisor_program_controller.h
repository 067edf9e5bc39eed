#ifndef OPSAGENT_AGENT_SYSTEM_SUPERVISOR_PROGRAM_CONTROLLER_H_
#define OPSAGENT_AGENT_SYSTEM_SUPERVISOR_PROGRAM_CONTROLLER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/system/service_controller.h"

namespace opsagent {

// A supervisord program, driven with supervisorctl and a fixed argv
// (`supervisorctl -c CONFIG restart PROGRAM`, `... status PROGRAM`,
// `... tail -BYTES PROGRAM [stderr]`).
class SupervisorProgramController final : public ServiceController {
 public:
  SupervisorProgramController(std::string supervisorctl, std::string config,
                              std::string program)
      : supervisorctl_(std::move(supervisorctl)),
        config_(std::move(config)),
        program_(std::move(program)) {}

  absl::StatusOr<ServiceStatus> Status() override;
  absl::StatusOr<ServiceDetails> Details() override;
  absl::StatusOr<std::vector<ServiceLogLine>> RecentLog(size_t lines) override;
  absl::Status Restart(absl::Time deadline) override;
  bool IsUp(const ServiceStatus& status) const override {
    return status.active_state == "RUNNING";
  }

 private:
  std::string supervisorctl_;
  std::string config_;
  std::string program_;
};

// Parses one line of `supervisorctl status PROGRAM` printed at `now`:
// "xqwatcher                        RUNNING   pid 1234, uptime 0:01:02"
// ("1 day, 0:01:02" after a day), or, for a program that is not running,
// its state and supervisord's description ("BACKOFF   Exited too quickly
// (process log may have details)").
absl::StatusOr<ServiceDetails> ParseSupervisorStatus(absl::string_view program,
                                                     absl::string_view output,
                                                     absl::Time now);

// The last `lines` whole lines of `tail` (the last bytes of a log file, so
// its first line may be cut, and is dropped when `cut` says so), escaped,
// each attributed to `source`.
std::vector<ServiceLogLine> LastLogLines(absl::string_view tail, bool cut,
                                         size_t lines,
                                         const std::string& source);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_SUPERVISOR_PROGRAM_CONTROLLER_H_
