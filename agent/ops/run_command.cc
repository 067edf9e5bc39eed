#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent/ops/command_template.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/ops/target_locks.h"
#include "common/host_text.h"
#include "common/subprocess.h"
#include "common/trusted_path.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

constexpr size_t kTailBytes = 4096;
constexpr char kDefaultPath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool HasAnyRole(const PeerIdentity& caller,
                const google::protobuf::RepeatedPtrField<std::string>& roles) {
  return std::any_of(
      caller.roles.begin(), caller.roles.end(), [&](const std::string& role) {
        return std::find(roles.begin(), roles.end(), role) != roles.end();
      });
}

// Runs the command, streaming its output through `emit`, and fills
// `result`: the argv, exit code, timing, output tail.
absl::Status Run(const OperationContext& context,
                 const v1::RunCommandRequest& request,
                 const std::function<bool(const v1::RunCommandEvent&)>& emit,
                 v1::CommandResult* result) {
  const v1::VettedCommand* command = nullptr;
  std::vector<std::string> names;
  for (const v1::VettedCommand& candidate : context.agent.config.command()) {
    names.push_back(candidate.name());
    if (candidate.name() == request.name()) command = &candidate;
  }
  if (command == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat(
        "\"", request.name(), "\" is not a command of this host (commands: [",
        absl::StrJoin(names, ", "), "])"));
  }
  if (!command->roles().empty() &&
      !HasAnyRole(context.caller, command->roles())) {
    return absl::PermissionDeniedError(absl::StrCat(
        context.caller.ToString(), " may not run ", command->name(),
        " (roles: ", absl::StrJoin(command->roles(), ", "), ")"));
  }
  if (context.caller.IsAutomation() && !command->read_only()) {
    return absl::PermissionDeniedError(absl::StrCat(
        context.caller.ToString(), " may not run ", command->name(),
        ": the automation role runs only commands declared read_only"));
  }
  if (context.read_only && !command->read_only()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the request asks that nothing change (a runbook's automatic step), "
        "and ",
        command->name(), " is not declared read_only"));
  }
  absl::StatusOr<std::unique_ptr<CommandTemplate>> compiled =
      CommandTemplate::Compile(*command);
  if (!compiled.ok()) return compiled.status();
  absl::StatusOr<std::vector<std::string>> argv =
      (*compiled)->Expand(std::map<std::string, std::string>(
          request.params().begin(), request.params().end()));
  if (!argv.ok()) return argv.status();
  for (const std::string& arg : *argv) result->add_argv(arg);
  result->set_dry_run(context.dry_run);
  if (context.dry_run) return absl::OkStatus();

  absl::StatusOr<std::unique_ptr<TargetLocks::Lease>> lease =
      context.locks->Acquire(absl::StrCat("command:", command->name()),
                             context.caller.ToString(), "run_command");
  if (!lease.ok()) return lease.status();
  // Checked at load and again now: the program runs as the agent.
  if (absl::Status trusted = CheckTrustedPath((*argv)[0], TrustedKind::kFile);
      !trusted.ok())
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to run ", command->name(), ": ", trusted.message()));
  std::vector<std::string> env(command->env().begin(), command->env().end());
  if (env.empty()) env.push_back(kDefaultPath);
  const absl::Duration timeout = absl::Seconds(
      command->timeout_seconds() == 0 ? 300 : command->timeout_seconds());
  const size_t max_output = command->max_output_bytes() == 0
                                ? (1 << 20)
                                : command->max_output_bytes();
  std::string tail;
  const absl::Time start = absl::Now();
  absl::StatusOr<ProgramResult> run = RunProgram(
      *argv, std::min(timeout, context.deadline - absl::Now()), max_output, env,
      [&](OutputStream stream, absl::string_view data) {
        v1::RunCommandEvent event;
        event.mutable_output()->set_stream(stream == OutputStream::kStdout
                                               ? v1::CommandOutput::STDOUT
                                               : v1::CommandOutput::STDERR);
        event.mutable_output()->set_data(std::string(data));
        emit(event);
        tail.append(data.data(), data.size());
        if (tail.size() > 2 * kTailBytes)
          tail.erase(0, tail.size() - kTailBytes);
      });
  result->set_elapsed_ms(absl::ToInt64Milliseconds(absl::Now() - start));
  result->set_output_tail(EscapeHostBytes(
      tail.size() > kTailBytes ? tail.substr(tail.size() - kTailBytes) : tail,
      LineBreaks::kKeep));
  if (!run.ok()) {
    if (absl::IsDeadlineExceeded(run.status())) {
      result->set_timed_out(true);
      result->set_exit_code(-1);
      // A definite outcome, unlike a deadline the client hits: not
      // DEADLINE_EXCEEDED.
      return absl::FailedPreconditionError(
          absl::StrCat(command->name(), " ran past its limit of ",
                       absl::FormatDuration(timeout), " and was killed"));
    }
    return run.status();
  }
  result->set_exit_code(run->exit_code);
  result->set_output_truncated(run->output_truncated);
  if (run->exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(command->name(), " exited with status ", run->exit_code));
  }
  return absl::OkStatus();
}

// The output as it comes, then the result as the last event, also when the
// command failed: its exit code and output tail are what on-call needs.
absl::Status RunVettedCommand(
    const OperationContext& context, const v1::RunCommandRequest& request,
    const std::function<bool(const v1::RunCommandEvent&)>& emit) {
  v1::RunCommandEvent last;
  absl::Status status = Run(context, request, emit, last.mutable_result());
  if (status.ok() || !last.result().argv().empty()) emit(last);
  return status;
}

}  // namespace

OPSAGENT_OPERATION(RunCommand, RunVettedCommand);

}  // namespace opsagent
