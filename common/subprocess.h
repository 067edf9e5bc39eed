#ifndef OPSAGENT_COMMON_SUBPROCESS_H_
#define OPSAGENT_COMMON_SUBPROCESS_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace opsagent {

// How to start a program. There is no shell: argv[0] is the path of the
// program (absolute, or relative to the working directory) and every other
// element reaches it as one argument, whatever it contains.
struct SubprocessOptions {
  std::vector<std::string> argv;
  // The environment; unset means inherit this process's.
  std::optional<std::vector<std::string>> env;
  // Where stdout and stderr go; empty means /dev/null. Files are created or
  // appended to. stdin is always /dev/null.
  std::string stdout_path;
  std::string stderr_path;
};

// A started child process. Destroying a Subprocess that is still running
// kills it (SIGKILL) and reaps it, so no test or operation leaks processes.
class Subprocess {
 public:
  static absl::StatusOr<Subprocess> Start(const SubprocessOptions& options);

  // Takes ownership of an already started child process.
  explicit Subprocess(pid_t pid) : pid_(pid) {}

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Waits up to `timeout` for the process to end. Returns its exit code, or
  // 128 + the signal that killed it; DEADLINE_EXCEEDED if still running.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // Sends `signal` if the process is still running.
  void Signal(int signal);

 private:
  pid_t pid_ = -1;
};

// The result of a program run to completion.
struct CommandResult {
  int exit_code = 0;  // or 128 + signal
  std::string stdout_text;
  std::string stderr_text;
  bool output_truncated = false;  // more than max_output_bytes was written
};

// Runs a program to completion, capturing at most `max_output_bytes` of each
// of stdout and stderr, and handing each captured chunk to `on_output` as it
// arrives, if given. At `timeout` the program is killed and
// DEADLINE_EXCEEDED returned.
// Which output a chunk came from.
enum class OutputStream { kStdout, kStderr };

absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& argv, absl::Duration timeout,
    size_t max_output_bytes = 1 << 20,
    std::optional<std::vector<std::string>> env = std::nullopt,
    const std::function<void(OutputStream, absl::string_view)>& on_output =
        nullptr);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_SUBPROCESS_H_
