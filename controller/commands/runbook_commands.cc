// Runbook commands: runbook (list, show, run, import) and triage.

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "controller/cli/confirmation.h"
#include "controller/commands/command.h"
#include "controller/exit_codes.h"
#include "controller/output/json.h"
#include "controller/output/table.h"
#include "controller/runbook/alert_triage.h"
#include "controller/runbook/markdown_import.h"
#include "controller/runbook/runbook_library.h"
#include "controller/target_set.h"
#include "google/protobuf/text_format.h"

namespace opsagent {
namespace {}  // namespace

absl::Status ValidateRunbookStep(const std::vector<std::string>& args,
                                 bool automatic) {
  if (args.empty()) return absl::InvalidArgumentError("empty opsctl step");
  if (args[0] == "runbook" || args[0] == "triage") {
    return absl::InvalidArgumentError("a step cannot run runbooks or triage");
  }
  for (const std::string& arg : args) {
    for (const char* own :
         {"--config", "--output", "--incident", "--reason", "--yes"}) {
      if (arg.rfind(own, 0) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(own, " is set by the run, not by a step"));
      }
    }
  }
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(args);
  if (!parsed.ok()) return parsed.status();
  // A vetted command may be a view (`salt ... test=True`): the agent, which
  // holds its declaration, refuses the automation role any other.
  if (automatic && ChangesHost(parsed->command) &&
      parsed->command.operation != "run_command") {
    return absl::InvalidArgumentError(
        absl::StrCat("an automatic step must only read, and `opsctl ", args[0],
                     "` changes the host"));
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<RunbookLibrary> LoadLibrary(Invocation& invocation) {
  absl::StatusOr<const v1::OperatorConfig*> config = invocation.config();
  if (!config.ok()) return config.status();
  return LoadRunbooks((*config)->runbooks());
}

std::string StepText(const v1::RunbookStep& step) {
  return step.manual().empty()
             ? absl::StrCat("opsctl ", absl::StrJoin(step.opsctl(), " "))
             : "(guided) " + step.title();
}

void PrintEntry(const v1::RunbookEntry& entry) {
  std::printf("%s: %s (%s)\n", entry.id().c_str(), entry.alert().c_str(),
              entry.product().c_str());
  if (!entry.summary().empty()) std::printf("  %s\n", entry.summary().c_str());
  if (!entry.target().empty())
    std::printf("  default target: %s\n", entry.target().c_str());
  for (auto [phase, steps] : {std::pair{"diagnosis", &entry.diagnosis()},
                              {"mitigation", &entry.mitigation()},
                              {"verification", &entry.verification()}}) {
    for (int i = 0; i < steps->size(); ++i) {
      const v1::RunbookStep& step = (*steps)[i];
      std::printf("  %-12s %d. %s\n     %s\n", phase, i + 1,
                  step.title().c_str(), StepText(step).c_str());
    }
  }
}

// Records a guided step's confirmation in the audit log.
absl::Status RecordGuidedStep(Invocation& invocation,
                              const v1::RunbookEntry& entry,
                              const v1::RunbookStep& step, bool confirmed) {
  absl::StatusOr<AuditingCaller> caller = invocation.Caller();
  if (!caller.ok()) return caller.status();
  absl::StatusOr<AuditStore*> audit = invocation.audit();
  if (!audit.ok()) return audit.status();
  AuditIntent intent;
  intent.request_id = NewRequestId();
  intent.run_id = invocation.EnsureRunId();
  intent.started_at_ms = absl::ToUnixMillis(absl::Now());
  intent.os_user = caller->who().os_user;
  intent.os_uid = caller->who().os_uid;
  intent.sudo_user = caller->who().sudo_user;
  intent.cert_identity = caller->who().cert_identity;
  intent.host = "-";
  intent.address = "-";
  intent.operation = "guided_step";
  intent.parameters_json =
      absl::StrCat("{\"entry\":", JsonString(entry.id()),
                   ",\"step\":", JsonString(step.title()), "}");
  absl::StatusOr<int64_t> row = (*audit)->RecordIntent(intent);
  if (!row.ok()) return row.status();
  AuditResult result;
  result.outcome = confirmed ? AuditOutcome::kOk : AuditOutcome::kError;
  result.finished_at_ms = absl::ToUnixMillis(absl::Now());
  result.summary = confirmed ? "operator confirmed the step was done"
                             : "operator did not confirm the step";
  return (*audit)->RecordResult(*row, result);
}

// Which steps of an entry a run does.
enum class StepSelection {
  kAll,
  kDiagnosis,
  kAutomatic,  // the automatic diagnosis steps, as on alert arrival
};

// Runs an entry's phases in order, checking each step before the next.
int RunEntry(Invocation& invocation, const v1::RunbookEntry& entry,
             const RunbookVars& vars, bool assume_yes,
             StepSelection selection) {
  const std::string target = vars.at("target");
  const std::string& run = invocation.EnsureRunId();
  std::printf("runbook %s: %s, target %s, run %s\n", entry.id().c_str(),
              entry.alert().c_str(), target.empty() ? "(none)" : target.c_str(),
              run.c_str());
  std::vector<std::pair<
      const char*, const google::protobuf::RepeatedPtrField<v1::RunbookStep>*>>
      phases = {{"diagnosis", &entry.diagnosis()}};
  if (selection == StepSelection::kAll) {
    phases.push_back({"mitigation", &entry.mitigation()});
    phases.push_back({"verification", &entry.verification()});
  }
  int done = 0;
  for (auto [phase, steps] : phases) {
    for (int i = 0; i < steps->size(); ++i) {
      const v1::RunbookStep& step = (*steps)[i];
      if (selection == StepSelection::kAutomatic && !step.automatic()) continue;
      std::printf("\n--- %s %d/%d: %s\n", phase, i + 1, steps->size(),
                  step.title().c_str());
      std::fflush(stdout);
      if (!step.manual().empty()) {
        std::printf("%s\n", step.manual().c_str());
        std::fflush(stdout);
        const bool confirmed = ConfirmChange("Done?", assume_yes).ok();
        if (absl::Status recorded =
                RecordGuidedStep(invocation, entry, step, confirmed);
            !recorded.ok()) {
          return CommandFailed(kExitAuditUnavailable,
                               std::string(recorded.message()));
        }
        if (!confirmed) {
          return CommandFailed(kExitOperationFailed,
                               absl::StrCat("stopped at ", phase, " step ",
                                            i + 1, ": not confirmed; ", done,
                                            " steps done; run ", run));
        }
        ++done;
        continue;
      }
      std::vector<std::string> args = ExpandStep(step, vars);
      for (const std::string& arg : args) {
        if (arg.find('{') != std::string::npos &&
            arg.find('}') != std::string::npos) {
          return CommandFailed(
              kExitUsage,
              absl::StrCat("step argument \"", arg,
                           "\" has a placeholder with no value (give --var)"));
        }
      }
      absl::StatusOr<ParsedCommand> parsed = ParseCommand(args);
      if (!parsed.ok())
        return CommandFailed(kExitUsage,
                             std::string(parsed.status().message()));
      std::printf("$ opsctl %s\n", absl::StrJoin(args, " ").c_str());
      std::fflush(stdout);
      if (ChangesHost(parsed->command) &&
          selection == StepSelection::kAutomatic) {
        // Only a vetted command can be both (ValidateStep): the agent
        // runs it for the automation role only if it is declared read-only.
        args.push_back("--yes");
        parsed = ParseCommand(args);
      } else if (ChangesHost(parsed->command)) {
        absl::Status confirmed = ConfirmChange(
            absl::StrCat("Run `opsctl ", absl::StrJoin(args, " "), "`?"),
            assume_yes);
        if (!confirmed.ok()) {
          return CommandFailed(
              kExitOperationFailed,
              absl::StrCat("stopped before ", phase, " step ", i + 1, ": ",
                           confirmed.message(), "; ", done, " steps done; run ",
                           run));
        }
        args.push_back("--yes");
        parsed = ParseCommand(args);
      }
      const int code = parsed->command.run(invocation, parsed->args);
      std::fflush(stdout);
      if (code != kExitOk) {
        return CommandFailed(
            code,
            absl::StrCat("stopped: ", phase, " step ", i + 1, " (",
                         step.title(), ") exited ", code, "; ", done,
                         " steps done; see `opsctl audit --run ", run, "`"));
      }
      ++done;
    }
  }
  std::printf(
      "\nrunbook %s: %d steps done; `opsctl audit --run %s` shows the "
      "timeline\n",
      entry.id().c_str(), done, run.c_str());
  return kExitOk;
}

int RunRunbook(Invocation& invocation, const ParsedArgs& args) {
  const std::string action = args.positional()[0];
  if (action == "import") {
    if (args.positional().size() != 2)
      return CommandFailed(kExitUsage, "usage: opsctl runbook import FILE.md");
    std::ifstream in(args.positional()[1]);
    if (!in)
      return CommandFailed(kExitUsage,
                           absl::StrCat("cannot read ", args.positional()[1]));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<v1::Runbook> runbook = ImportRunbookMarkdown(text.str());
    if (!runbook.ok())
      return CommandFailed(
          kExitUsage,
          absl::StrCat(args.positional()[1], ": ", runbook.status().message()));
    std::string out;
    google::protobuf::TextFormat::PrintToString(*runbook, &out);
    std::printf(
        "# Generated by `opsctl runbook import %s`: guided steps from the "
        "document.\n"
        "# Replace steps with opsctl ones where the agent can do the work.\n%s",
        args.positional()[1].c_str(), out.c_str());
    return kExitOk;
  }
  absl::StatusOr<RunbookLibrary> library = LoadLibrary(invocation);
  if (!library.ok())
    return CommandFailed(kExitUsage, std::string(library.status().message()));
  if (action == "list") {
    TextTable table({"ID", "PRODUCT", "ALERT", "STEPS", "GUIDED"}, {3, 4});
    for (const v1::RunbookEntry& entry : library->entries()) {
      int steps = 0, guided = 0;
      for (const auto* phase :
           {&entry.diagnosis(), &entry.mitigation(), &entry.verification()}) {
        for (const v1::RunbookStep& step : *phase) {
          ++steps;
          guided += !step.manual().empty();
        }
      }
      table.AddRow({entry.id(), entry.product(), entry.alert(),
                    absl::StrCat(steps), absl::StrCat(guided)});
    }
    std::printf("%s", table.Render().c_str());
    return kExitOk;
  }
  if (args.positional().size() != 2)
    return CommandFailed(kExitUsage,
                         absl::StrCat("usage: opsctl runbook ", action, " ID"));
  const v1::RunbookEntry* entry = library->Find(args.positional()[1]);
  if (entry == nullptr) {
    return CommandFailed(
        kExitUsage, absl::StrCat("no runbook entry \"", args.positional()[1],
                                 "\" (see `opsctl runbook list`)"));
  }
  if (action == "show") {
    PrintEntry(*entry);
    return kExitOk;
  }
  if (action == "run") {
    const std::string host = args.Get("host");
    const std::string environment = args.Get("environment");
    RunbookVars vars = {{"host", host}, {"environment", environment}};
    for (const std::string& var : args.GetAll("var")) {
      const size_t eq = var.find('=');
      if (eq == std::string::npos || eq == 0)
        return CommandFailed(kExitUsage,
                             absl::StrCat("--var ", var, ": use NAME=VALUE"));
      vars[var.substr(0, eq)] = var.substr(eq + 1);
    }
    // The target itself may use {host} and {environment}. An automatic run
    // (an alert's) works on the alert's host alone, whatever the entry's.
    v1::RunbookStep holder;
    if (args.Has("automatic")) {
      if (host.empty() || args.Has("target"))
        return CommandFailed(kExitUsage,
                             "--automatic runs on one host: give --host, "
                             "not --target");
      holder.add_opsctl(host);
    } else {
      holder.add_opsctl(args.Get("target", entry->target()));
    }
    vars["target"] = ExpandStep(holder, vars)[0];
    if (vars["target"].find('{') != std::string::npos) {
      return CommandFailed(
          kExitUsage,
          absl::StrCat("target \"", vars["target"],
                       "\" needs --host/--environment (or give --target)"));
    }
    if (args.Has("automatic") && args.Has("yes"))
      return CommandFailed(kExitUsage,
                           "--automatic runs only read-only steps and asks "
                           "nothing: --yes does not apply");
    return RunEntry(invocation, *entry, vars, args.Has("yes"),
                    args.Has("automatic")        ? StepSelection::kAutomatic
                    : args.Has("diagnosis-only") ? StepSelection::kDiagnosis
                                                 : StepSelection::kAll);
  }
  return CommandFailed(kExitUsage,
                       absl::StrCat("unknown action \"", action,
                                    "\": use list, show, run or import"));
}

int RunTriage(Invocation& invocation, const ParsedArgs& args) {
  std::vector<Alert> alerts = ParseAlerts(args.positional()[0]);
  if (alerts.empty()) return CommandFailed(kExitUsage, "no alert text given");
  absl::StatusOr<RunbookLibrary> library = LoadLibrary(invocation);
  if (!library.ok())
    return CommandFailed(kExitUsage, std::string(library.status().message()));
  // The hosts: the controller's live inventory, else the local one.
  std::vector<v1::Host> hosts;
  bool have_hosts = false;
  if (invocation.via_controller()) {
    absl::StatusOr<ControllerClient*> client = invocation.controller();
    absl::StatusOr<v1::ListHostsReply> listed =
        client.ok()
            ? (*client)->ListHosts(invocation.CallTimeout(absl::Seconds(30)))
            : absl::StatusOr<v1::ListHostsReply>(client.status());
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
        MatchEntry(alert.name, roles, library->entries());
    std::printf("alert: %s", alert.boiled.c_str());
    if (!alert.host.empty()) std::printf("  host %s", alert.host.c_str());
    if (!alert.environment.empty())
      std::printf("  environment %s", alert.environment.c_str());
    if (!alert.mountpoint.empty())
      std::printf("  mountpoint %s", alert.mountpoint.c_str());
    std::printf("\n");
    if (!alert.host.empty() && have_hosts) {
      std::printf("  %s\n",
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
      std::printf(
          "  %s \"%s\"%s\n",
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
    std::printf("  runbook entry: ");
    PrintEntry(*match.entry);
    if (args.Has("run") && !host.has_value()) {
      // Pasted text is not trusted to name hosts ("*", "role:web").
      std::printf(
          "  not run: the alert's host is not a host of the "
          "inventory\n");
      code = kExitOperationFailed;
      continue;
    }
    if (args.Has("run")) {
      RunbookVars vars = {{"host", host->name()},
                          {"environment", alert.environment}};
      v1::RunbookStep holder;
      holder.add_opsctl(args.Get("target", match.entry->target().empty()
                                               ? "{host}"
                                               : match.entry->target()));
      vars["target"] = ExpandStep(holder, vars)[0];
      const int ran = RunEntry(invocation, *match.entry, vars, args.Has("yes"),
                               StepSelection::kDiagnosis);
      if (ran != kExitOk) code = ran;
    }
  }
  return code;
}

}  // namespace

absl::StatusOr<RunbookLibrary> LoadRunbooks(const std::string& directory) {
  return RunbookLibrary::Load(directory, ValidateRunbookStep);
}

std::vector<Command> RunbookCommands() {
  return {
      {"runbook",
       "ACTION [ID|FILE]",
       "runbook procedures: list, show ID, run ID, import FILE.md",
       "Procedures from the team's on-call document, kept as data in the "
       "runbooks\n"
       "directory (operator config `runbooks`; schema "
       "proto/opsagent/v1/runbook.proto).\n"
       "`run` does the diagnosis steps at once, asks before each mitigation "
       "step (or\n"
       "--yes), checks each step before the next, stops at the first failure, "
       "and\n"
       "records every step under one run id. `import` turns the on-call "
       "markdown\n"
       "document into entries with guided steps, to be refined by hand.\n\n"
       "Examples:\n"
       "  opsctl runbook list\n"
       "  opsctl runbook show xqwatcher-disk\n"
       "  opsctl runbook run xqwatcher-disk --host ip-10-7-0-78 --incident "
       "INC-42\n"
       "  opsctl runbook import oncall.md > runbooks/imported.textproto\n",
       {{"target", "TARGET", "hosts to run on (default: the entry's target)"},
        {"host", "HOST", "fills {host} in the entry's target and steps"},
        {"environment", "ENV", "fills {environment}"},
        {"var", "NAME=VALUE",
         "fills {NAME} in steps (repeatable), e.g. --var course=course-v1:..."},
        {"diagnosis-only", "", "run only the diagnosis steps"},
        {"automatic", "",
         "run only the steps marked automatic (what opsctld runs when an "
         "alert arrives)"},
        {"yes", "", "do not ask before mitigation steps"}},
       1,
       2,
       RunRunbook},
      {"triage",
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
       "Unknown alerts and ties say so and list the entries for the name.\n\n"
       "Example:\n"
       "  opsctl triage '[Prometheus]: [FIRING:1] DiskUsageWarning "
       "mitx-production (xqwatcher filesystem \\\n"
       "      /dev/root ext4 ip-10-7-0-78 integrations/linux_hos' --run\n",
       {{"run", "", "run the matched entry's diagnosis steps"},
        {"target", "TARGET",
         "hosts to run on (default: the entry's target, else the alert's "
         "host)"},
        {"yes", "", "answer yes to guided-step confirmations"}},
       1,
       1,
       RunTriage},
  };
}

}  // namespace opsagent
