#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace opsagent {
namespace {

int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// argv/envp arrays for posix_spawn, pointing into `strings`.
std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Spawns with the given file actions; `argv` and `env` are validated here.
// The child gets only descriptors 0, 1 and 2, whatever this process holds
// without O_CLOEXEC; with `new_group` it leads a process group of its own.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::optional<std::vector<std::string>>& env,
                            posix_spawn_file_actions_t* actions,
                            bool new_group = false) {
  if (argv.empty() || argv[0].empty())
    return absl::InvalidArgumentError("no program to run");
  for (const std::string& arg : argv) {
    if (arg.find('\0') != std::string::npos)
      return absl::InvalidArgumentError("an argument contains a NUL byte");
  }
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = env ? CStrings(*env) : std::vector<char*>{};
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The child starts with default signal handling and nothing blocked, even
  // if the parent blocks termination signals to wait for them.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (new_group) {
    posix_spawnattr_setpgroup(&attributes, 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&attributes, flags);
  posix_spawn_file_actions_addclosefrom_np(actions, STDERR_FILENO + 1);
  pid_t pid;
  int error = posix_spawn(&pid, argv[0].c_str(), actions, &attributes,
                          c_argv.data(), env ? c_env.data() : environ);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start ", argv[0], ": ", std::strerror(error)));
  }
  return pid;
}

}  // namespace

absl::StatusOr<Subprocess> Subprocess::Start(const SubprocessOptions& options) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  const int out_flags = O_WRONLY | O_CREAT | O_APPEND;
  posix_spawn_file_actions_addopen(
      &actions, STDOUT_FILENO,
      options.stdout_path.empty() ? "/dev/null" : options.stdout_path.c_str(),
      out_flags, 0640);
  posix_spawn_file_actions_addopen(
      &actions, STDERR_FILENO,
      options.stderr_path.empty() ? "/dev/null" : options.stderr_path.c_str(),
      out_flags, 0640);
  absl::StatusOr<pid_t> pid = Spawn(options.argv, options.env, &actions);
  posix_spawn_file_actions_destroy(&actions);
  if (!pid.ok()) return pid.status();
  return Subprocess(*pid);
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), group_(other.group_) {}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (group_) KillGroup();
    Signal(SIGKILL);
    Wait(absl::Seconds(10)).IgnoreError();
    pid_ = std::exchange(other.pid_, -1);
    group_ = other.group_;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    if (group_) KillGroup();
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool Subprocess::Exited() const {
  if (pid_ <= 0) return true;
  siginfo_t info = {};
  // WNOWAIT: the child stays a zombie, so its pid is not reused yet.
  return waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid_;
}

void Subprocess::KillGroup() {
  if (pid_ > 0 && group_) kill(-pid_, SIGKILL);
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  if (pid_ <= 0)
    return absl::FailedPreconditionError("the process was already waited for");
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return ExitCode(status);
    }
    if (done < 0 && errno != EINTR) {
      return absl::InternalError(
          absl::StrCat("waitpid: ", std::strerror(errno)));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " still running"));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

void Subprocess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

absl::StatusOr<ProgramResult> RunProgram(
    const std::vector<std::string>& argv, absl::Duration timeout,
    size_t max_output_bytes, std::optional<std::vector<std::string>> env,
    const std::function<void(OutputStream, absl::string_view)>& on_output) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0)
    return absl::InternalError("pipe2 failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::InternalError("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  absl::StatusOr<pid_t> pid =
      Spawn(argv, env ? *env : MinimalEnvironment(), &actions,
            /*new_group=*/true);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!pid.ok()) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return pid.status();
  }
  // Whatever happens below, nothing the command started outlives it: the
  // whole process group is killed before the child is reaped (its pid, and
  // so the group's id, cannot be reused while it is a zombie).
  Subprocess child(*pid, /*group=*/true);

  ProgramResult result;
  std::string* sinks[2] = {&result.stdout_text, &result.stderr_text};
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_pipes = 2;
  const absl::Time deadline = absl::Now() + timeout;
  absl::Time drain_until = absl::InfiniteFuture();
  bool timed_out = false;
  for (;;) {
    if (drain_until == absl::InfiniteFuture() && child.Exited()) {
      // The command is done. Anything it left behind in its group (a
      // background job holding the pipes) is killed, and what is still in
      // the pipes is read for a moment longer.
      child.KillGroup();
      drain_until = absl::Now() + absl::Seconds(1);
    }
    const absl::Time now = absl::Now();
    if (open_pipes == 0 && drain_until != absl::InfiniteFuture()) break;
    if (now >= drain_until) break;
    if (now >= deadline) {
      timed_out = true;
      break;
    }
    const absl::Time wake =
        std::min({deadline, drain_until, now + absl::Milliseconds(50)});
    const int wait_ms = static_cast<int>(
        std::max<int64_t>(1, absl::ToInt64Milliseconds(wake - now)));
    if (poll(fds, 2, wait_ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[16384];
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open_pipes;
        continue;
      }
      const size_t room =
          max_output_bytes - std::min(max_output_bytes, sinks[i]->size());
      const size_t kept = std::min(room, static_cast<size_t>(n));
      sinks[i]->append(buffer, kept);
      if (on_output && kept > 0)
        on_output(i == 0 ? OutputStream::kStdout : OutputStream::kStderr,
                  {buffer, kept});
      if (static_cast<size_t>(n) > room) result.output_truncated = true;
    }
  }
  for (pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  if (timed_out) {
    child.KillGroup();
    return absl::DeadlineExceededError(absl::StrCat(
        argv[0], " did not finish within ", absl::FormatDuration(timeout),
        "; it and every process it started were killed"));
  }
  absl::StatusOr<int> code = child.Wait(absl::Seconds(10));
  if (!code.ok()) return code.status();
  result.exit_code = *code;
  return result;
}

const std::vector<std::string>& MinimalEnvironment() {
  static const auto* environment = new std::vector<std::string>{
      "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"};
  return *environment;
}

}  // namespace opsagent
