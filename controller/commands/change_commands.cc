// Commands that change a host: truncate, restart, exec. Each asks for
// confirmation on a terminal (or needs --yes), supports --dry-run, and shows
// what its operation did: a failed restart's every attempt, a failed
// command's exit code. Truncation and restart are summarized in the audit
// log by the agent's own summary line.

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/human_size.h"
#include "common/operation_catalog.h"
#include "controller/cli/confirmation.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/service_log.h"
#include "controller/output/terminal.h"
#include "controller/result_summary.h"

namespace opsagent {
namespace {

const FlagSpec kYes = {
    "yes", "", "do not ask for confirmation (required when not on a terminal)"};
const FlagSpec kDryRun = {"dry-run", "",
                          "report exactly what would happen; change nothing"};

// Asks before a change `what` ("Truncate /var/log/x.log") on `target` (or
// needs --yes), unless it is a dry run. A person is asked about hosts by
// name: an expression ("role:salt-master") is resolved first and `target`
// becomes exactly the hosts named in the question, so the change acts on
// what was agreed to, not on what the expression selects a minute later.
absl::Status Confirm(Invocation& invocation, const ParsedArgs& args,
                     absl::string_view what, std::string* target) {
  if (args.Has("dry-run")) return absl::OkStatus();
  if (args.Has("yes") || IsOneHostName(*target))
    return ConfirmChange(absl::StrCat(what, " on ", *target, "?"),
                         args.Has("yes"));
  absl::StatusOr<std::vector<std::string>> hosts =
      SelectedHostNames(invocation, *target);
  if (!hosts.ok()) return hosts.status();
  if (absl::Status confirmed = ConfirmChange(
          absl::StrCat(what, " on ", hosts->size(),
                       hosts->size() == 1 ? " host: " : " hosts: ",
                       absl::StrJoin(*hosts, ", "), " (", *target, ")?"),
          false);
      !confirmed.ok())
    return confirmed;
  *target = absl::StrJoin(*hosts, ",");
  return absl::OkStatus();
}

void PrintTruncation(const v1::TruncateLogReply& r) {
  std::printf("%s%s\n", r.dry_run() ? "DRY RUN: " : "",
              Shown(r.summary()).c_str());
  for (const std::string& warning : r.warnings())
    std::printf("WARNING: %s\n", Shown(warning).c_str());
  if (!r.dry_run()) {
    std::printf(
        "size %s -> %s (%s on disk); file freed %s; filesystem gained %s\n",
        FormatHumanSize(r.size_before_bytes()).c_str(),
        FormatHumanSize(r.size_after_bytes()).c_str(),
        FormatHumanSize(r.allocated_after_bytes()).c_str(),
        FormatHumanSize(r.file_freed_bytes()).c_str(),
        FormatHumanSize(r.filesystem_freed_bytes()).c_str());
  }
}

int RunTruncate(Invocation& invocation, const ParsedArgs& args) {
  std::string host = args.positional()[0];
  auto request = std::make_shared<v1::TruncateLogRequest>();
  request->set_path(args.positional()[1]);
  if (args.Has("keep-tail")) {
    absl::StatusOr<uint64_t> parsed = ParseHumanSize(args.Get("keep-tail"));
    if (!parsed.ok())
      return CommandFailed(kExitUsage, parsed.status().message());
    request->set_keep_tail_bytes(*parsed);
  }
  const uint64_t keep = request->keep_tail_bytes();
  if (absl::Status confirmed = Confirm(
          invocation, args,
          absl::StrCat("Truncate ", request->path(),
                       keep > 0 ? absl::StrCat(" (keeping the last ",
                                               FormatHumanSize(keep), ")")
                                : ""),
          &host);
      !confirmed.ok())
    return CommandFailed(ExitCodeForControllerError(confirmed, kExitUsage),
                         confirmed.message());
  return RunOperation(
      invocation, host,
      {&OperationFor<v1::TruncateLogRequest>(), request, args.Has("dry-run")},
      Present(&PrintTruncation));
}

// Every attempt with its state, the checks, and where the service ended:
// shown for a failed restart too, which is when it matters.
void PrintRestart(const v1::RestartServiceReply& r) {
  if (r.dry_run()) {
    std::printf("DRY RUN: %s\n", Shown(r.summary()).c_str());
    return;
  }
  for (const v1::RestartAttempt& a : r.attempts()) {
    std::printf("attempt %u: %s, %s/%s pid %d, %lld ms%s%s\n", a.number(),
                a.succeeded() ? "ok" : "FAILED",
                Shown(a.state().active_state()).c_str(),
                Shown(a.state().sub_state()).c_str(), a.state().main_pid(),
                static_cast<long long>(a.elapsed_ms()),
                a.error().empty() ? "" : ": ", Shown(a.error()).c_str());
  }
  for (const v1::PostCheckResult& c : r.post_checks()) {
    std::printf("check %s: %s (%s)\n", Shown(c.description()).c_str(),
                c.passed() ? "passed" : "FAILED", Shown(c.detail()).c_str());
  }
  std::printf("%s: pid %d -> %d, now %s/%s\n", Shown(r.name()).c_str(),
              r.before().main_pid(), r.after().main_pid(),
              Shown(r.after().active_state()).c_str(),
              Shown(r.after().sub_state()).c_str());
  if (!r.recent_log().empty()) {
    std::printf("last %d log lines of %s:\n%s", r.recent_log_size(),
                Shown(r.name()).c_str(),
                FormatServiceLog(r.recent_log(), "  ").c_str());
  }
}

int RunRestart(Invocation& invocation, const ParsedArgs& args) {
  std::string host = args.positional()[0];
  auto request = std::make_shared<v1::RestartServiceRequest>();
  request->set_name(args.positional()[1]);
  uint32_t retries = 0;
  if (args.Has("retries") &&
      (!absl::SimpleAtoi(args.Get("retries"), &retries) || retries == 0 ||
       retries > 10)) {
    return CommandFailed(kExitUsage,
                         "--retries takes a number of attempts from 1 to 10");
  }
  request->set_max_attempts(retries);
  if (absl::Status confirmed = Confirm(
          invocation, args, absl::StrCat("Restart ", request->name()), &host);
      !confirmed.ok())
    return CommandFailed(ExitCodeForControllerError(confirmed, kExitUsage),
                         confirmed.message());
  return RunOperation(invocation, host,
                      {&OperationFor<v1::RestartServiceRequest>(), request,
                       args.Has("dry-run"), absl::Minutes(5)},
                      Present(&PrintRestart));
}

// The result of a command: its exit code and timing (its output streamed
// already; a failed one's tail is in the result too, and in the audit log).
void PrintCommandResult(const v1::RunCommandEvent& event) {
  const v1::CommandResult& r = event.result();
  if (r.dry_run()) {
    std::printf("DRY RUN: would run: %s\n",
                Shown(absl::StrJoin(r.argv(), " ")).c_str());
    return;
  }
  std::fprintf(
      stderr, "[%s %d in %lld ms%s]\n",
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
      return CommandFailed(kExitUsage,
                           absl::StrCat("--param ", param, ": use NAME=VALUE"));
    }
    (*request->mutable_params())[param.substr(0, eq)] = param.substr(eq + 1);
  }
  if (absl::Status confirmed = Confirm(
          invocation, args, absl::StrCat("Run ", request->name()), &host);
      !confirmed.ok())
    return CommandFailed(ExitCodeForControllerError(confirmed, kExitUsage),
                         confirmed.message());
  Presentation presentation = Present(&PrintCommandResult);
  presentation.on_event = [](const google::protobuf::Message& m) {
    const auto& event = static_cast<const v1::RunCommandEvent&>(m);
    if (!event.has_output()) return;
    std::FILE* to =
        event.output().stream() == v1::CommandOutput::STDERR ? stderr : stdout;
    std::fwrite(event.output().data().data(), 1, event.output().data().size(),
                to);
    std::fflush(to);
  };
  return RunOperation(invocation, host,
                      {&OperationFor<v1::RunCommandRequest>(), request,
                       args.Has("dry-run"), absl::Minutes(10)},
                      presentation);
}

const bool kSummaries[] = {
    RegisterResultSummaryOf<v1::RunCommandEvent>(&CommandSummary),
};

}  // namespace

std::vector<Command> ChangeCommands() {
  return {
      {"truncate",
       "HOST PATH",
       "truncate an allow-listed log in place, freeing its space at once",
       "Empties PATH (or keeps its last --keep-tail bytes) through the "
       "descriptor the\n"
       "agent checked: a regular file with one name, matching the agent's\n"
       "truncatable_logs, reached without following symlinks. The file is "
       "never\n"
       "deleted, so a process writing to it frees the space now, not at its "
       "next\n"
       "restart. Reports the space freed and who holds the file open, and "
       "warns\n"
       "about holders that write without O_APPEND (the file then grows back "
       "sparse\n"
       "to its old apparent size). With --keep-tail, at least SIZE is kept: "
       "ext4 and\n"
       "XFS cut the head out in whole blocks (up to one block, 4 KiB, more), "
       "other\n"
       "filesystems get the tail copied back after the file is emptied, so a "
       "full\n"
       "disk never leaves a half-overwritten file.\n\n"
       "Examples:\n"
       "  opsctl truncate ip-10-7-0-78 /edx/var/log/xqwatcher/xqwatcher.log "
       "--dry-run\n"
       "  opsctl truncate ip-10-7-0-78 /edx/var/log/xqwatcher/xqwatcher.log "
       "--keep-tail 10M \\\n"
       "      --incident INC-42 --reason \"DiskUsageWarning xqwatcher\"\n",
       {{"keep-tail", "SIZE",
         "keep (at least) the last SIZE of the log (e.g. 10M; at most 64M)"},
        kDryRun,
        kYes},
       2,
       2,
       RunTruncate},
      {"restart",
       "HOST NAME",
       "restart an allow-listed systemd unit or supervisord program, verified",
       "Restarts NAME through systemd (D-Bus) or supervisord, then checks that "
       "it stays\n"
       "up for the settle period; a failed attempt is retried with backoff "
       "(the\n"
       "runbook's \"restart it twice\"). Configured post-checks, such as "
       "memory\n"
       "available after restarting salt-master, run last. Waits up to 5 "
       "minutes\n"
       "unless --timeout says otherwise.\n\n"
       "Examples:\n"
       "  opsctl restart salt-qa salt-master.service --incident INC-42\n"
       "  opsctl restart ip-10-7-0-78 supervisor.service --retries 3 --yes\n",
       {{"retries", "N",
         "attempts at most (default: the agent's setting for NAME)"},
        kDryRun,
        kYes},
       2,
       2,
       RunRestart},
      {"exec",
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
       {{"param", "NAME=VALUE",
         "a parameter value (repeat for each parameter)"},
        kDryRun,
        kYes},
       2,
       2,
       RunExec},
  };
}

}  // namespace opsagent
