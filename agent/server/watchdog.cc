#include "agent/server/watchdog.h"

#include <systemd/sd-daemon.h>

#include "absl/time/clock.h"
#include "common/connection_guard.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace opsagent {

Watchdog::Watchdog(Probe probe, Options options,
                   std::function<void(const absl::Status&)> on_dead)
    : probe_(std::move(probe)),
      options_(options),
      on_dead_(std::move(on_dead)),
      thread_([this] { Run(); }) {}

Watchdog::~Watchdog() {
  stop_.Notify();
  thread_.join();
}

void Watchdog::Run() {
  int failures = 0;
  absl::Time previous = absl::Now();
  const absl::Duration timeout = std::min(options_.interval, absl::Seconds(5));
  do {
    const absl::Time started = absl::Now();
    absl::Status probed = probe_(timeout);
    const bool listener_busy =
        GetConnectionGuardStats().last_refusal >= previous;
    previous = started;
    if (probed.ok() || listener_busy) {
      if (!probed.ok()) {
        spdlog::warn(
            "watchdog: the probe got no answer ({}), but the listener is "
            "accepting (connections are over the limits); still alive",
            probed.message());
      } else if (failures > 0) {
        spdlog::info("watchdog: the agent answers again");
      }
      failures = 0;
      if (options_.notify_systemd) sd_notify(0, "WATCHDOG=1");
      continue;
    }
    ++failures;
    spdlog::warn("watchdog: probe {} of {} failed: {}", failures,
                 options_.max_failures, probed.message());
    if (failures >= options_.max_failures) {
      on_dead_(probed);
      return;
    }
  } while (!stop_.WaitForNotificationWithTimeout(options_.interval));
}

}  // namespace opsagent
