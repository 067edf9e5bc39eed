#ifndef OPSAGENT_AGENT_SYSTEM_SYSTEMD_UNIT_CONTROLLER_H_
#define OPSAGENT_AGENT_SYSTEM_SYSTEMD_UNIT_CONTROLLER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/system/service_controller.h"

struct sd_bus;

namespace opsagent {

// A systemd unit, driven through systemd's D-Bus API (sd-bus), the way
// systemctl does: RestartUnit, then wait for the job to leave the queue.
class SystemdUnitController final : public ServiceController {
 public:
  // Connects to systemd at `bus_address` ("" = unix:path=/run/systemd/private).
  static absl::StatusOr<std::unique_ptr<SystemdUnitController>> Connect(
      const std::string& bus_address, const std::string& unit);
  ~SystemdUnitController() override;

  absl::StatusOr<ServiceStatus> Status() override;
  absl::StatusOr<ServiceDetails> Details() override;
  absl::StatusOr<std::vector<ServiceLogLine>> RecentLog(size_t lines) override;
  absl::Status Restart(absl::Time deadline) override;
  bool IsUp(const ServiceStatus& status) const override {
    return status.active_state == "active";
  }

 private:
  SystemdUnitController(sd_bus* bus, std::string unit)
      : bus_(bus), unit_(std::move(unit)) {}

  absl::StatusOr<std::string> UnitPath();
  absl::StatusOr<uint32_t> PendingJob(const std::string& unit_path);
  absl::StatusOr<ServiceStatus> StatusAt(const std::string& unit_path);
  // A numeric property, or nullopt when systemd does not report it.
  std::optional<uint64_t> Property(const std::string& unit_path,
                                   const char* interface, const char* name,
                                   char type);

  sd_bus* bus_;
  std::string unit_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_SYSTEMD_UNIT_CONTROLLER_H_
