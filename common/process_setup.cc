#include "common/process_setup.h"

#include <pthread.h>
#include <signal.h>

#include <string>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/version.h"
#include "spdlog/spdlog.h"

namespace opsagent {

void SetDaemonUsage(absl::string_view program, absl::string_view main_file,
                    absl::string_view usage) {
  absl::FlagsUsageConfig config;
  config.contains_help_flags =
      [main_file = std::string(main_file)](absl::string_view file) {
        return absl::EndsWith(file, main_file);
      };
  config.version_string = [program = std::string(program)] {
    return absl::StrCat(program, " ", kVersion, "\n");
  };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);
}

void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

sigset_t BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

int WaitForTerminationSignal(const sigset_t& signals) {
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number != SIGHUP) return signal_number;
    spdlog::info(
        "received SIGHUP: nothing to reload (TLS files are re-read by "
        "themselves; restart to apply a configuration change); still "
        "serving");
  }
}

}  // namespace opsagent
