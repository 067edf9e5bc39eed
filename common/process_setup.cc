#include "common/process_setup.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/version.h"
#include "spdlog/spdlog.h"

namespace opsagent {

namespace {

// The program's name, and the file whose flags --help lists
// (SetDaemonUsage).
std::string& Program() {
  static std::string* program = new std::string();
  return *program;
}
std::string& MainFile() {
  static std::string* file = new std::string();
  return *file;
}

}  // namespace

void SetDaemonUsage(absl::string_view program, absl::string_view main_file,
                    absl::string_view usage) {
  Program() = std::string(program);
  MainFile() = std::string(main_file);
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

bool PrintDaemonHelpIfAsked(int argc, char** argv) {
  bool asked = false;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    asked |= arg == "--help" || arg == "-help" || arg == "-h" ||
             arg == "--helpshort";
  }
  if (!asked) return false;
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), MainFile())) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::string text = absl::StrCat(Program(), ": ", absl::ProgramUsageMessage(),
                                  "\n\nFlags:\n");
  for (const absl::CommandLineFlag* flag : flags) {
    const std::string value = flag->DefaultValue();
    absl::StrAppend(
        &text, "  --", flag->Name(),
        value == "false" || value.empty() ? "" : absl::StrCat("=", value),
        "\n      ", flag->Help(), "\n");
  }
  absl::StrAppend(&text,
                  "  --version\n      Print the version and exit.\n"
                  "  --help\n      Print this and exit.\n");
  std::fputs(text.c_str(), stdout);
  return true;
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
