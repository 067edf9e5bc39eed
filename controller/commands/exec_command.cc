// `opsctl exec`: runs a command the agent declares, with validated parameters.

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/operation_catalog.h"
#include "controller/commands/change_confirmation.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/terminal.h"
#include "controller/result_summary.h"

namespace opsagent {
namespace {

// The result of a command: its exit code and timing (its output streamed
// already; a failed one's tail is in the result too, and in the audit log).
void PrintCommandResult(FILE* out, FILE* err,
                        const v1::RunCommandEvent& event) {
  const v1::CommandResult& r = event.result();
  if (r.dry_run()) {
    std::fprintf(out, "DRY RUN: would run: %s\n",
                 Shown(absl::StrJoin(r.argv(), " ")).c_str());
    return;
  }
  std::fprintf(
      err, "[%s %d in %lld ms%s]\n",
      r.timed_out() ? "killed at its timeout, exit" : "exit", r.exit_code(),
      static_cast<long long>(r.elapsed_ms()),
      r.output_truncated() ? ", output truncated at the command's limit" : "");
}

std::string CommandSummary(const v1::RunCommandEvent& event) {
  const v1::CommandResult& r = event.result();
  // The output's tail is kept in the audit log (bounded by the agent).
  return absl::StrCat(
      r.dry_run() ? "would run: " : "ran: ", absl::StrJoin(r.argv(), " "),
      "; exit ", r.exit_code(),
      r.output_tail().empty() ? "" : "; output tail:\n", r.output_tail());
}

int RunExec(Invocation& invocation, const ParsedArgs& args) {
  std::string host = args.positional()[0];
  auto request = std::make_shared<v1::RunCommandRequest>();
  request->set_name(args.positional()[1]);
  for (const std::string& param : args.GetAll("param")) {
    const size_t eq = param.find('=');
    if (eq == std::string::npos || eq == 0) {
      return CommandFailed(invocation, kExitUsage,
                           absl::StrCat("--param ", param, ": use NAME=VALUE"));
    }
    (*request->mutable_params())[param.substr(0, eq)] = param.substr(eq + 1);
  }
  if (absl::Status confirmed = ConfirmOnHosts(
          invocation, args, absl::StrCat("Run ", request->name()), &host);
      !confirmed.ok())
    return CommandFailed(invocation,
                         ExitCodeForControllerError(confirmed, kExitUsage),
                         confirmed.message());
  FILE* const err = invocation.err();
  Presentation presentation = Present<v1::RunCommandEvent>(
      [err](FILE* out, const v1::RunCommandEvent& event) {
        PrintCommandResult(out, err, event);
      });
  presentation.on_event = [err](FILE* out, const google::protobuf::Message& m) {
    const auto& event = static_cast<const v1::RunCommandEvent&>(m);
    if (!event.has_output()) return;
    FILE* to = event.output().stream() == v1::CommandOutput::STDERR ? err : out;
    std::fwrite(event.output().data().data(), 1, event.output().data().size(),
                to);
    std::fflush(to);
  };
  return RunOperation(invocation, host,
                      {&OperationFor<v1::RunCommandRequest>(), request,
                       args.Has("dry-run"), absl::Minutes(10)},
                      presentation);
}

const bool kSummary =
    RegisterResultSummaryOf<v1::RunCommandEvent>(&CommandSummary);

Command ExecCommand() {
  return {
      "exec",
      "HOST COMMAND",
      "run a command the agent declares, with validated parameters",
      "Runs COMMAND from the agent's configuration: a fixed argv template "
      "whose\n"
      "parameters are checked by their validators (enum, regex, integer "
      "range,\n"
      "course id) before anything runs. No shell is involved. Output streams "
      "back\n"
      "as it is produced; its tail is kept in the audit log.\n\n"
      "Examples:\n"
      "  opsctl exec salt-production salt-state --param "
      "target='reddit-production*' \\\n"
      "      --param states=reddit.config --incident INC-7\n"
      "  opsctl exec ovs-1 add-hls-video --param "
      "course=course-v1:xPRO+DECA_Boeing+SPOC_R0 --dry-run\n",
      {{"param", "NAME=VALUE", "a parameter value (repeat for each parameter)"},
       DryRunFlag(),
       YesFlag()},
      2,
      2,
      RunExec};
}

}  // namespace

OPSCTL_COMMAND(kChanges, ExecCommand);

}  // namespace opsagent
