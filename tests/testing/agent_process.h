#ifndef OPSAGENT_TESTS_TESTING_AGENT_PROCESS_H_
#define OPSAGENT_TESTS_TESTING_AGENT_PROCESS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/subprocess.h"

namespace opsagent::testing {

// A free TCP port on 127.0.0.1 (bound and released), for an agent that
// systemd restarts and that must come back on the same port; an agent
// started by AgentProcess listens on port 0 and reports its port instead.
int PickFreePort();

std::string ReadFileOrDie(const std::string& path);

// A directory of the running test's own, $TEST_TMPDIR/<test name>, created
// (0700) if missing.
std::string MakeTestDirectory();

// The port of the last line of `log` that holds `marker` and then
// "(port N)" ("metrics: GET http://127.0.0.1:0/metrics (port 40123)"), if
// there is one.
std::optional<int> LoggedPort(absl::string_view log, absl::string_view marker);

// Waits until `condition` holds, checking every 100 ms for at most
// `timeout`; whether it did.
bool Eventually(const std::function<bool()>& condition,
                absl::Duration timeout = absl::Seconds(20));

// How many times `text` occurs in `in` (lines of a log, findings).
int Occurrences(absl::string_view in, absl::string_view text);

// This process's environment, for children that should see what an
// operator's shell would give them (RunProgram gives a minimal one).
std::vector<std::string> InheritedEnvironment();
void WriteFileOrDie(const std::string& path, const std::string& content);

// The real opsagent binary (from the test's runfiles) running with a given
// configuration, its stderr kept in a log file. Killed when destroyed.
class AgentProcess {
 public:
  // Writes `config_text` to DIR/agent.textproto, starts the agent and waits
  // until it logs that it is serving, and on which port (listen on port 0
  // and ask port() instead of picking one).
  static absl::StatusOr<std::unique_ptr<AgentProcess>> Start(
      const std::string& dir, const std::string& config_text);

  // Everything the agent has logged so far.
  std::string Log() const { return ReadFileOrDie(log_path_); }
  Subprocess& process() { return process_; }
  // The port the agent bound, from its log.
  int port() const { return port_; }

 private:
  AgentProcess(Subprocess process, std::string log_path)
      : process_(std::move(process)), log_path_(std::move(log_path)) {}

  Subprocess process_;
  std::string log_path_;
  int port_ = 0;
};

// Starts `argv` (a server a test needs: prometheus, supervisord, a log
// writer) with its stdout and stderr in DIR/NAME.log; null, with a test
// failure, when it cannot start.
std::unique_ptr<Subprocess> StartLogged(const std::string& dir,
                                        const std::string& name,
                                        const std::vector<std::string>& argv);

// `path` made absolute with symlinks resolved (for unit files and configs
// read by processes with another working directory); unchanged if missing.
std::string AbsolutePath(const std::string& path);

// Path of a binary built by this workspace, e.g. "agent/opsagent".
std::string BinaryPath(const std::string& workspace_relative);

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_AGENT_PROCESS_H_
