#include "tests/testing/opsctl_runner.h"

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testing/agent_process.h"

namespace opsagent::testing {

OpsctlRunner::OpsctlRunner(const std::string& dir, const std::string& name,
                           const std::string& certificate,
                           const std::string& private_key,
                           const std::string& ca_certificate,
                           const std::string& host, int port,
                           const std::string& audit_path) {
  const std::string base = absl::StrCat(dir, "/", name);
  config_path_ = base + ".opsctl";
  audit_path_ = audit_path.empty() ? base + ".audit.db" : audit_path;
  inventory_path_ = base + ".inventory";
  WriteFileOrDie(
      base + ".inventory",
      absl::StrCat("host { name: \"", host, "\" address: \"127.0.0.1:", port,
                   "\" environment: \"test\" }\n"));
  WriteFileOrDie(
      config_path_,
      absl::StrCat("certificate: \"", certificate, "\"\nprivate_key: \"",
                   private_key, "\"\nca_certificate: \"", ca_certificate,
                   "\"\ninventory: \"", base,
                   ".inventory\"\naudit_database: \"", audit_path_,
                   "\"\ntimeout_seconds: 30\n"));
}

void OpsctlRunner::WriteInventory(const std::string& text) const {
  WriteFileOrDie(inventory_path_, text);
}

void OpsctlRunner::AppendConfig(const std::string& text) const {
  WriteFileOrDie(config_path_, ReadFileOrDie(config_path_) + text);
}

ProgramResult OpsctlRunner::Run(
    const std::vector<std::string>& args,
    const std::vector<std::string>& extra_env) const {
  std::vector<std::string> argv = {BinaryPath("controller/opsctl/opsctl"),
                                   "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = InheritedEnvironment();
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  absl::StatusOr<ProgramResult> result =
      RunProgram(argv, absl::Seconds(120), 1 << 20, env);
  if (!result.ok())
    return ProgramResult{-1, "", std::string(result.status().message())};
  return *result;
}

ProgramResult OpsctlRunner::RunOnTerminal(const std::vector<std::string>& args,
                                          const std::string& answer) const {
  std::vector<std::string> argv = {BinaryPath("controller/opsctl/opsctl"),
                                   "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw_argv;
  for (std::string& arg : argv) raw_argv.push_back(arg.data());
  raw_argv.push_back(nullptr);
  int terminal = -1;
  const pid_t pid = forkpty(&terminal, nullptr, nullptr, nullptr);
  if (pid < 0) return ProgramResult{-1, "", "forkpty failed"};
  if (pid == 0) {
    execv(raw_argv[0], raw_argv.data());
    _exit(127);
  }
  std::string shown;
  bool answered = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    pollfd ready = {terminal, POLLIN, 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(terminal, buffer, sizeof(buffer));
    if (n <= 0) break;  // EIO: the child closed the terminal
    shown.append(buffer, static_cast<size_t>(n));
    if (!answered && absl::StrContains(shown, "[y/N]")) {
      const std::string line = answer + "\n";
      answered = write(terminal, line.data(), line.size()) ==
                 static_cast<ssize_t>(line.size());
    }
  }
  close(terminal);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return ProgramResult{-1, shown, ""};
  return ProgramResult{
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), shown,
      ""};
}

absl::StatusOr<Subprocess> OpsctlRunner::Start(
    const std::vector<std::string>& args, const std::string& stdout_path,
    const std::string& stderr_path) const {
  SubprocessOptions options;
  options.argv = {BinaryPath("controller/opsctl/opsctl"), "--config",
                  config_path_};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.stdout_path = stdout_path;
  options.stderr_path = stderr_path;
  return Subprocess::Start(options);
}

std::vector<v1::AuditEntry> OpsctlRunner::AuditRows() const {
  absl::StatusOr<std::unique_ptr<AuditStore>> store =
      AuditStore::Open(audit_path_);
  if (!store.ok()) return {};
  v1::AuditQuery all;
  all.set_limit(100000);
  absl::StatusOr<std::vector<v1::AuditEntry>> rows = (*store)->Query(all);
  return rows.ok() ? *rows : std::vector<v1::AuditEntry>{};
}

google::protobuf::Value ParseJson(const std::string& text) {
  google::protobuf::Value value;
  if (!google::protobuf::util::JsonStringToMessage(text, &value).ok())
    value.set_string_value("<not JSON>");
  return value;
}

const google::protobuf::Value& JsonField(const google::protobuf::Value& object,
                                         const std::string& name) {
  static const google::protobuf::Value* const kMissing =
      new google::protobuf::Value();
  auto it = object.struct_value().fields().find(name);
  return it == object.struct_value().fields().end() ? *kMissing : it->second;
}

}  // namespace opsagent::testing
