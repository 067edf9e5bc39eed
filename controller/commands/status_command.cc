// `opsctl status`: a service's state and last log lines, like `systemctl
// status`.

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/human_size.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/service_log.h"
#include "controller/output/terminal.h"
#include "controller/output/timestamps.h"

namespace opsagent {
namespace {

// Laid out like `systemctl status`, then the log lines like journalctl.
void PrintServiceStatus(FILE* out, const v1::ServiceStatusReply& r) {
  const v1::ServiceState& state = r.state();
  std::fprintf(out, "%s %s (%s)\n", r.up() ? "●" : "×", Shown(r.name()).c_str(),
               r.manager() == v1::SUPERVISOR ? "supervisord" : "systemd");
  std::string active = state.active_state() == state.sub_state()
                           ? Shown(state.active_state())
                           : absl::StrCat(Shown(state.active_state()), " (",
                                          Shown(state.sub_state()), ")");
  if (r.since_unix_ms() != 0) {
    const absl::Time since = absl::FromUnixMillis(r.since_unix_ms());
    absl::StrAppend(
        &active, " since ",
        absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", since, absl::UTCTimeZone()),
        "; ", SecondsShown(absl::ToInt64Seconds(absl::Now() - since)), " ago");
  }
  std::fprintf(out, "     Active: %s\n", active.c_str());
  if (!r.result().empty() && r.result() != "success")
    std::fprintf(out, "     Result: %s\n", Shown(r.result()).c_str());
  if (state.main_pid() > 0)
    std::fprintf(out, "   Main PID: %d\n", state.main_pid());
  if (r.has_memory_bytes())
    std::fprintf(out, "     Memory: %s\n",
                 FormatHumanSize(r.memory_bytes()).c_str());
  if (r.has_tasks())
    std::fprintf(out, "      Tasks: %llu\n",
                 static_cast<unsigned long long>(r.tasks()));
  if (r.has_restarts()) std::fprintf(out, "   Restarts: %u\n", r.restarts());
  if (!r.recent_log().empty())
    std::fprintf(out, "\n%s", FormatServiceLog(r.recent_log(), "").c_str());
}

int RunStatus(Invocation& invocation, const ParsedArgs& args) {
  auto request = std::make_shared<v1::ServiceStatusRequest>();
  request->set_name(args.positional()[1]);
  if (args.Has("lines")) {
    uint32_t lines = 0;
    if (!absl::SimpleAtoi(args.Get("lines"), &lines) || lines > 200)
      return CommandFailed(invocation, kExitUsage,
                           "--lines takes a number from 0 to 200");
    request->set_log_lines(lines);
  }
  return RunOperation(
      invocation, args.positional()[0],
      {&OperationFor<v1::ServiceStatusRequest>(), request},
      Present<v1::ServiceStatusReply>(
          &PrintServiceStatus, [](const v1::ServiceStatusReply& r) {
            if (r.up()) return absl::OkStatus();
            return absl::FailedPreconditionError(
                absl::StrCat(r.name(), " is not up: ", r.summary()));
          }));
}

Command StatusCommand() {
  return {
      "status",
      "HOST NAME",
      "a service's state, pid, memory, restarts and last log lines, like "
      "`systemctl status`",
      "Shows what `systemctl status NAME` and `journalctl -u NAME -n 10` "
      "show, for a\n"
      "systemd unit or supervisord program the agent may restart: its "
      "state and since\n"
      "when, main pid, the memory and tasks of its cgroup, how often "
      "systemd restarted\n"
      "it, and the last lines it logged (the journal, or supervisord's log "
      "tail). Exits\n"
      "7 when the service is not up, so scripts can wait on it.\n\n"
      "Examples:\n  opsctl status xqwatcher-1 xqwatcher\n"
      "  opsctl status salt-qa salt-master.service --lines 50\n",
      {{"lines", "N", "how many log lines to show (default 10, at most 200)"}},
      2,
      2,
      RunStatus};
}

}  // namespace

OPSCTL_COMMAND(kInspection, StatusCommand);

}  // namespace opsagent
