// `opsctl triage`: boils a pasted alert down to its runbook entry and host,
// and runs that entry's diagnosis.

#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/json.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/commands/runbook_run.h"
#include "controller/exit_codes.h"
#include "controller/runbook/alert_triage.h"
#include "controller/runbook/runbook_library.h"

namespace opsagent {
namespace {

int RunTriage(Invocation& invocation, const ParsedArgs& args) {
  const bool json = invocation.output() == OutputFormat::kJson;
  if (json && args.Has("run"))
    return CommandFailed(invocation, kExitUsage,
                         "--output json shows what triage found; with --run "
                         "the steps print as they run (their rows are in "
                         "`opsctl audit --run ID --output json`)");
  std::vector<Alert> alerts = ParseAlerts(args.positional()[0]);
  if (alerts.empty())
    return CommandFailed(invocation, kExitUsage, "no alert text given");
  absl::StatusOr<RunbookLibrary> library = FleetOf(invocation)->Runbooks();
  if (!library.ok())
    return CommandFailed(invocation, kExitUsage,
                         std::string(library.status().message()));
  // The hosts: the controller's live inventory, else the local one.
  std::vector<v1::Host> hosts;
  bool have_hosts = false;
  if (invocation.via_controller()) {
    absl::StatusOr<v1::ListHostsReply> listed = invocation.AskController(
        &ControllerStub::ListHosts, v1::ListHostsRequest());
    if (listed.ok()) {
      have_hosts = true;
      for (const v1::HostState& state : listed->hosts()) {
        v1::Host host;
        host.set_name(state.name());
        host.set_address(state.address());
        *host.mutable_roles() = state.roles();
        host.set_environment(state.environment());
        hosts.push_back(std::move(host));
      }
    }
  } else if (absl::StatusOr<const Inventory*> local = invocation.inventory();
             local.ok()) {
    have_hosts = true;
    hosts = (*local)->hosts();
  }
  int code = kExitOk;
  nlohmann::ordered_json found = nlohmann::ordered_json::array();
  for (Alert& alert : alerts) {
    std::optional<v1::Host> host;
    std::vector<std::string> roles;  // the inventory's, never the text's
    for (const v1::Host& candidate : hosts) {
      if (!alert.host.empty() && candidate.name() == alert.host) {
        host = candidate;
        roles.assign(candidate.roles().begin(), candidate.roles().end());
      }
    }
    const RunbookMatch match =
        MatchPastedAlert(alert, roles, library->entries());
    if (json) {
      nlohmann::ordered_json candidates = nlohmann::ordered_json::array();
      for (const v1::RunbookEntry* candidate : match.candidates)
        candidates.push_back(candidate->id());
      found.push_back(
          {{"alert", alert.boiled},
           {"resolved", alert.resolved},
           {"host", alert.host},
           {"in_inventory", host.has_value()},
           {"environment", alert.environment},
           {"mountpoint", alert.mountpoint},
           {"device", alert.device},
           {"entry", match.entry == nullptr ? "" : match.entry->id()},
           {"ambiguous", match.ambiguous},
           {"candidates", std::move(candidates)}});
      if (match.entry == nullptr) code = kExitOperationFailed;
      continue;
    }
    std::fprintf(invocation.out(), "alert: %s%s", alert.boiled.c_str(),
                 alert.resolved ? "  RESOLVED" : "");
    if (!alert.host.empty())
      std::fprintf(invocation.out(), "  host %s", alert.host.c_str());
    if (!alert.environment.empty())
      std::fprintf(invocation.out(), "  environment %s",
                   alert.environment.c_str());
    if (!alert.mountpoint.empty())
      std::fprintf(invocation.out(), "  mountpoint %s",
                   alert.mountpoint.c_str());
    std::fprintf(invocation.out(), "\n");
    if (!alert.host.empty() && have_hosts) {
      std::fprintf(invocation.out(), "  %s\n",
                   host.has_value()
                       ? absl::StrCat("inventory: ", host->name(), " at ",
                                      host->address(), " (roles ",
                                      absl::StrJoin(host->roles(), ", "), ")")
                             .c_str()
                       : "not in the inventory");
    }
    if (match.entry == nullptr) {
      std::vector<std::string> nearest;
      for (const v1::RunbookEntry* candidate : match.candidates) {
        nearest.push_back(absl::StrFormat(
            "%s (%s, roles %s)", candidate->id(), candidate->alert(),
            candidate->roles().empty()
                ? "as its heading names"
                : absl::StrJoin(candidate->roles(), ",")));
      }
      std::fprintf(
          invocation.out(), "  %s \"%s\"%s\n",
          match.ambiguous ? "ambiguous: several runbook entries fit equally for"
                          : "no runbook entry for",
          alert.boiled.c_str(),
          nearest.empty()
              ? (host.has_value() ? ""
                                  : " (entries are chosen by the alert's name "
                                    "and the roles of its host in the "
                                    "inventory)")
              : absl::StrCat(match.ambiguous ? ": " : "; for other roles: ",
                             absl::StrJoin(nearest, ", "))
                    .c_str());
      code = kExitOperationFailed;
      continue;
    }
    RunbookVars vars = {
        {"environment", host.has_value() && !host->environment().empty()
                            ? host->environment()
                            : alert.environment},
        {"mountpoint", alert.mountpoint},
        {"device", alert.device}};
    if (host.has_value()) {
      vars["host"] = host->name();
      vars["target"] = host->name();
    }
    std::fprintf(invocation.out(), "  runbook entry: ");
    PrintEntry(invocation.out(), *match.entry, vars);
    if (args.Has("run") && alert.resolved) {
      std::fprintf(invocation.out(), "  not run: the alert is resolved\n");
      continue;
    }
    if (args.Has("run") && !host.has_value()) {
      // Pasted text is not trusted to name hosts ("*", "role:web").
      std::fprintf(invocation.out(),
                   "  not run: the alert's host is not a host of the "
                   "inventory\n");
      code = kExitOperationFailed;
      continue;
    }
    if (args.Has("run")) {
      const int ran = RunEntry(invocation, *match.entry, vars, args.Has("yes"),
                               StepSelection::kDiagnosis);
      if (ran != kExitOk) code = ran;
    }
  }
  if (json) std::fprintf(invocation.out(), "%s\n", DumpJson(found).c_str());
  return code;
}

Command TriageCommand() {
  return {
      "triage",
      "\"ALERT TEXT\"",
      "boil a pasted alert down, find its runbook entry and host",
      "Reads alert text as pasted from Prometheus or Slack (several FIRING "
      "alerts at\n"
      "once are fine), boils each down the way the on-call document's style "
      "guide\n"
      "asks (\"DiskUsageWarning xqwatcher\"), finds the host in the inventory "
      "and the\n"
      "runbook entry for the alert's name and the host's roles (the "
      "inventory's, not\n"
      "words of the alert), and shows it. --run also runs its diagnosis.\n"
      "Unknown alerts and ties say so and list the entries for the name.\n"
      "--output json prints what was found for each alert (not with --run); "
      "it exits 1\n"
      "when an alert has no entry.\n\n"
      "Example:\n"
      "  opsctl triage '[Prometheus]: [FIRING:1] DiskUsageWarning "
      "mitx-production (xqwatcher filesystem \\\n"
      "      /dev/root ext4 ip-10-7-0-78 integrations/linux_hos' --run\n",
      {{"run", "",
        "run the matched entry's diagnosis steps on the alert's host (firing "
        "alerts only)"},
       {"yes", "", "answer yes to guided-step confirmations"}},
      1,
      1,
      RunTriage};
}

}  // namespace

OPSCTL_COMMAND(kRunbooks, TriageCommand);

}  // namespace opsagent
