// `opsctl restart`: restarts an allow-listed service, verified.

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/operation_catalog.h"
#include "controller/commands/change_confirmation.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/service_log.h"
#include "controller/output/terminal.h"

namespace opsagent {
namespace {

// Every attempt with its state, the checks, and where the service ended:
// shown for a failed restart too, which is when it matters.
void PrintRestart(FILE* out, const v1::RestartServiceReply& r) {
  if (r.dry_run()) {
    std::fprintf(out, "DRY RUN: %s\n", Shown(r.summary()).c_str());
    return;
  }
  for (const v1::RestartAttempt& a : r.attempts()) {
    std::fprintf(out, "attempt %u: %s, %s/%s pid %d, %lld ms%s%s\n", a.number(),
                 a.succeeded() ? "ok" : "FAILED",
                 Shown(a.state().active_state()).c_str(),
                 Shown(a.state().sub_state()).c_str(), a.state().main_pid(),
                 static_cast<long long>(a.elapsed_ms()),
                 a.error().empty() ? "" : ": ", Shown(a.error()).c_str());
  }
  for (const v1::PostCheckResult& c : r.post_checks()) {
    std::fprintf(out, "check %s: %s (%s)\n", Shown(c.description()).c_str(),
                 c.passed() ? "passed" : "FAILED", Shown(c.detail()).c_str());
  }
  std::fprintf(out, "%s: pid %d -> %d, now %s/%s\n", Shown(r.name()).c_str(),
               r.before().main_pid(), r.after().main_pid(),
               Shown(r.after().active_state()).c_str(),
               Shown(r.after().sub_state()).c_str());
  if (!r.recent_log().empty()) {
    std::fprintf(out, "last %d log lines of %s:\n%s", r.recent_log_size(),
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
    return CommandFailed(invocation, kExitUsage,
                         "--retries takes a number of attempts from 1 to 10");
  }
  request->set_max_attempts(retries);
  if (absl::Status confirmed = ConfirmOnHosts(
          invocation, args, absl::StrCat("Restart ", request->name()), &host);
      !confirmed.ok())
    return CommandFailed(invocation,
                         ExitCodeForControllerError(confirmed, kExitUsage),
                         confirmed.message());
  return RunOperation(invocation, host,
                      {&OperationFor<v1::RestartServiceRequest>(), request,
                       args.Has("dry-run"), absl::Minutes(5)},
                      Present(&PrintRestart));
}

Command RestartCommand() {
  return {
      "restart",
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
       DryRunFlag(),
       YesFlag()},
      2,
      2,
      RunRestart};
}

}  // namespace

OPSCTL_COMMAND(kChanges, RestartCommand);

}  // namespace opsagent
