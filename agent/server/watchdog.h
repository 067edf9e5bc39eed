#ifndef OPSAGENT_AGENT_SERVER_WATCHDOG_H_
#define OPSAGENT_AGENT_SERVER_WATCHDOG_H_

#include <functional>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace opsagent {

// Keeps systemd's watchdog fed only while the agent demonstrably serves.
// Every `interval` it runs the liveness probe. A passing probe pings systemd
// (WATCHDOG=1, when systemd watches). A failing probe still counts as alive
// when the connection guard reset connections over its limits since the
// last probe (a flood keeps every slot busy: the agent is bounded, not
// dead, and restarting it would not help). After `max_failures` failures in
// a row with no such sign, `on_dead` is called (the agent exits, and systemd
// restarts it), instead of pinging a process that no longer serves.
class Watchdog {
 public:
  struct Options {
    absl::Duration interval = absl::Seconds(10);
    int max_failures = 3;
    bool notify_systemd = false;
  };
  // `probe` proves the agent serves, giving up after its timeout.
  using Probe = std::function<absl::Status(absl::Duration timeout)>;
  Watchdog(Probe probe, Options options,
           std::function<void(const absl::Status&)> on_dead);
  ~Watchdog();  // stops the thread

 private:
  void Run();

  Probe probe_;
  const Options options_;
  std::function<void(const absl::Status&)> on_dead_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_WATCHDOG_H_
