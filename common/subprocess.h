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
  // The environment; unset means inherit this process's (for tests and
  // benchmarks starting servers; the agent's children use RunProgram).
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

  // Takes ownership of an already started child process; with `group`, it
  // leads a process group whose other members die with it.
  explicit Subprocess(pid_t pid, bool group = false)
      : pid_(pid), group_(group) {}

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

  // Whether the process has ended (it is not reaped: Wait does that).
  bool Exited() const;

  // SIGKILL to every process of its group, if it leads one.
  void KillGroup();

 private:
  pid_t pid_ = -1;
  bool group_ = false;
};

// The result of a program run to completion.
struct ProgramResult {
  int exit_code = 0;  // or 128 + signal
  std::string stdout_text;
  std::string stderr_text;
  bool output_truncated = false;  // more than max_output_bytes was written
};

// Which output a chunk came from.
enum class OutputStream { kStdout, kStderr };

// The environment a program run by RunProgram gets unless told otherwise:
// PATH=/usr/sbin:/usr/bin:/sbin:/bin and LANG=C.UTF-8, nothing inherited.
const std::vector<std::string>& MinimalEnvironment();

// Runs a program to completion, capturing at most `max_output_bytes` of each
// of stdout and stderr, and handing each captured chunk to `on_output` as it
// arrives, if given. The program starts with descriptors 0-2 only, the
// environment `env` (MinimalEnvironment() if unset, never this process's),
// and in a process group of its own. Nothing it starts outlives it: when it
// exits, the rest of its group is killed and the output still in the pipes
// read; at `timeout` the whole group is killed and DEADLINE_EXCEEDED
// returned. (A process that leaves the group with setsid() escapes this.)

absl::StatusOr<ProgramResult> RunProgram(
    const std::vector<std::string>& argv, absl::Duration timeout,
    size_t max_output_bytes = 1 << 20,
    std::optional<std::vector<std::string>> env = std::nullopt,
    const std::function<void(OutputStream, absl::string_view)>& on_output =
        nullptr);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_SUBPROCESS_H_
