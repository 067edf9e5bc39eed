#include "agent/system/systemd_unit_controller.h"

#include <systemd/sd-bus.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/system/unit_journal.h"
#include "common/host_text.h"

namespace opsagent {
namespace {

constexpr char kDestination[] = "org.freedesktop.systemd1";
constexpr char kManagerPath[] = "/org/freedesktop/systemd1";
constexpr char kManager[] = "org.freedesktop.systemd1.Manager";
constexpr char kUnit[] = "org.freedesktop.systemd1.Unit";
constexpr char kService[] = "org.freedesktop.systemd1.Service";

// Frees an sd_bus_error and an sd_bus_message on scope exit.
struct BusCall {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  ~BusCall() {
    sd_bus_error_free(&error);
    sd_bus_message_unref(reply);
  }
  std::string Message(int rc) const {
    return error.message != nullptr ? error.message : std::strerror(-rc);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<SystemdUnitController>>
SystemdUnitController::Connect(const std::string& bus_address,
                               const std::string& unit) {
  const std::string address =
      bus_address.empty() ? "unix:path=/run/systemd/private" : bus_address;
  sd_bus* bus = nullptr;
  int rc = sd_bus_new(&bus);
  if (rc >= 0) rc = sd_bus_set_address(bus, address.c_str());
  // The private socket is a direct connection to systemd, not a bus daemon.
  if (rc >= 0 && !absl::StrContains(address, "/run/systemd/private"))
    rc = sd_bus_set_bus_client(bus, 1);
  if (rc >= 0) rc = sd_bus_start(bus);
  if (rc < 0) {
    sd_bus_unref(bus);
    return absl::UnavailableError(absl::StrCat(
        "cannot reach systemd at ", address, ": ", std::strerror(-rc)));
  }
  return std::unique_ptr<SystemdUnitController>(
      new SystemdUnitController(bus, unit));
}

SystemdUnitController::~SystemdUnitController() {
  sd_bus_flush_close_unref(bus_);
}

absl::StatusOr<std::string> SystemdUnitController::UnitPath() {
  BusCall call;
  // LoadUnit also answers for units that are loaded but inactive.
  int rc =
      sd_bus_call_method(bus_, kDestination, kManagerPath, kManager, "LoadUnit",
                         &call.error, &call.reply, "s", unit_.c_str());
  if (rc < 0)
    return absl::NotFoundError(
        absl::StrCat("systemd does not know ", unit_, ": ", call.Message(rc)));
  const char* path = nullptr;
  rc = sd_bus_message_read(call.reply, "o", &path);
  if (rc < 0)
    return absl::InternalError("unexpected reply from systemd LoadUnit");
  return std::string(path);
}

absl::StatusOr<uint32_t> SystemdUnitController::PendingJob(
    const std::string& unit_path) {
  BusCall call;
  int rc = sd_bus_get_property(bus_, kDestination, unit_path.c_str(), kUnit,
                               "Job", &call.error, &call.reply, "(uo)");
  if (rc < 0)
    return absl::UnavailableError(
        absl::StrCat("reading the job of ", unit_, ": ", call.Message(rc)));
  uint32_t id = 0;
  const char* job_path = nullptr;
  if (sd_bus_message_read(call.reply, "(uo)", &id, &job_path) < 0)
    return absl::InternalError("unexpected Job value");
  return id;
}

absl::StatusOr<ServiceStatus> SystemdUnitController::Status() {
  absl::StatusOr<std::string> path = UnitPath();
  if (!path.ok()) return path.status();
  return StatusAt(*path);
}

absl::StatusOr<ServiceStatus> SystemdUnitController::StatusAt(
    const std::string& unit_path) {
  ServiceStatus status;
  for (auto [name, out] : {std::pair{"ActiveState", &status.active_state},
                           {"SubState", &status.sub_state}}) {
    BusCall call;
    char* value = nullptr;
    int rc = sd_bus_get_property_string(bus_, kDestination, unit_path.c_str(),
                                        kUnit, name, &call.error, &value);
    if (rc < 0)
      return absl::UnavailableError(absl::StrCat(
          "reading ", name, " of ", unit_, ": ", call.Message(rc)));
    *out = value;
    free(value);
  }
  if (absl::EndsWith(unit_, ".service")) {
    BusCall call;
    uint32_t pid = 0;
    if (sd_bus_get_property_trivial(bus_, kDestination, unit_path.c_str(),
                                    kService, "MainPID", &call.error, 'u',
                                    &pid) >= 0) {
      status.main_pid = static_cast<int>(pid);
    }
  }
  return status;
}

std::optional<uint64_t> SystemdUnitController::Property(
    const std::string& unit_path, const char* interface, const char* name,
    char type) {
  BusCall call;
  if (type == 'u') {
    uint32_t value = 0;
    if (sd_bus_get_property_trivial(bus_, kDestination, unit_path.c_str(),
                                    interface, name, &call.error, 'u',
                                    &value) < 0)
      return std::nullopt;
    return value;
  }
  uint64_t value = 0;
  if (sd_bus_get_property_trivial(bus_, kDestination, unit_path.c_str(),
                                  interface, name, &call.error, 't',
                                  &value) < 0 ||
      value == UINT64_MAX)  // systemd's "not known" (no accounting)
    return std::nullopt;
  return value;
}

absl::StatusOr<ServiceDetails> SystemdUnitController::Details() {
  absl::StatusOr<std::string> path = UnitPath();
  if (!path.ok()) return path.status();
  ServiceDetails details;
  absl::StatusOr<ServiceStatus> status = StatusAt(*path);
  if (!status.ok()) return status.status();
  details.status = *std::move(status);
  // The timestamp systemctl status calls "since" for each state.
  const std::string& state = details.status.active_state;
  const char* since = state == "active"         ? "ActiveEnterTimestamp"
                      : state == "activating"   ? "InactiveExitTimestamp"
                      : state == "deactivating" ? "ActiveExitTimestamp"
                                                : "InactiveEnterTimestamp";
  if (std::optional<uint64_t> usec = Property(*path, kUnit, since, 't');
      usec.has_value() && *usec > 0)
    details.since = absl::FromUnixMicros(static_cast<int64_t>(*usec));
  if (absl::EndsWith(unit_, ".service")) {
    BusCall call;
    char* result = nullptr;
    if (sd_bus_get_property_string(bus_, kDestination, path->c_str(), kService,
                                   "Result", &call.error, &result) >= 0) {
      details.result = EscapeHostBytes(result);
      free(result);
    }
    details.memory_bytes = Property(*path, kService, "MemoryCurrent", 't');
    details.tasks = Property(*path, kService, "TasksCurrent", 't');
    if (std::optional<uint64_t> n = Property(*path, kService, "NRestarts", 'u'))
      details.restarts = static_cast<uint32_t>(*n);
  }
  return details;
}

absl::StatusOr<std::vector<ServiceLogLine>> SystemdUnitController::RecentLog(
    size_t lines) {
  return ReadUnitJournal(unit_, lines);
}

absl::Status SystemdUnitController::Restart(absl::Time deadline) {
  absl::StatusOr<std::string> path = UnitPath();
  if (!path.ok()) return path.status();
  {
    // A unit that failed before may be held back by its start rate limit.
    BusCall reset;
    sd_bus_call_method(bus_, kDestination, kManagerPath, kManager,
                       "ResetFailedUnit", &reset.error, nullptr, "s",
                       unit_.c_str());
  }
  BusCall call;
  int rc = sd_bus_call_method(bus_, kDestination, kManagerPath, kManager,
                              "RestartUnit", &call.error, &call.reply, "ss",
                              unit_.c_str(), "replace");
  if (rc < 0)
    return absl::FailedPreconditionError(absl::StrCat(
        "systemd refused to restart ", unit_, ": ", call.Message(rc)));
  while (absl::Now() < deadline) {
    absl::StatusOr<uint32_t> job = PendingJob(*path);
    if (!job.ok()) return job.status();
    if (*job == 0) {
      absl::StatusOr<ServiceStatus> status = Status();
      if (!status.ok()) return status.status();
      if (!IsUp(*status)) {
        return absl::FailedPreconditionError(
            absl::StrCat("restart job finished with ", status->active_state,
                         "/", status->sub_state));
      }
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "the restart job of ", unit_, " had not finished by the deadline"));
}

}  // namespace opsagent
