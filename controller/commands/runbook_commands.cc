// Runbook commands: runbook (list, show, run, import) and triage.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/host_text.h"
#include "common/json.h"
#include "controller/cli/confirmation.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/table.h"
#include "controller/runbook/alert_triage.h"
#include "controller/runbook/guided_step_record.h"
#include "controller/runbook/markdown_import.h"
#include "controller/runbook/runbook_cache.h"
#include "controller/runbook/runbook_library.h"
#include "controller/target_set.h"
#include "google/protobuf/text_format.h"

namespace opsagent {
absl::Status ValidateRunbookStep(const std::vector<std::string>& args,
                                 bool automatic) {
  if (args.empty()) return absl::InvalidArgumentError("empty opsctl step");
  if (args[0] == "runbook" || args[0] == "triage") {
    return absl::InvalidArgumentError("a step cannot run runbooks or triage");
  }
  for (const std::string& arg : args) {
    for (const char* own : {"--config", "--output", "--incident", "--ticket",
                            "--reason", "--yes"}) {
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
  const OperationInfo* op = OperationOf(parsed->command);
  if (automatic && op != nullptr && op->mutating &&
      !op->read_only_per_declaration) {
    return absl::InvalidArgumentError(
        absl::StrCat("an automatic step must only read, and `opsctl ", args[0],
                     "` changes the host"));
  }
  return absl::OkStatus();
}

namespace {

// The runbooks a command works with. Through the controller: the one copy
// it keeps (saved in the operator's cache for the night it is down), or the
// operator's `runbooks` directory when it keeps none. With --direct: that
// directory if it is there, else the cache of the controller's copy.
absl::StatusOr<RunbookLibrary> LoadLibrary(Invocation& invocation) {
  absl::StatusOr<const v1::OperatorConfig*> config = invocation.config();
  if (!config.ok()) return config.status();
  const std::string& cache = (*config)->runbook_cache();
  if (invocation.via_controller()) {
    absl::StatusOr<ControllerClient*> client = invocation.controller();
    if (!client.ok()) return client.status();
    absl::StatusOr<v1::Runbook> served =
        (*client)->Call(&ControllerStub::GetRunbooks, v1::GetRunbooksRequest(),
                        invocation.CallTimeout(absl::Seconds(30)));
    if (served.ok()) {
      if (absl::Status saved = SaveRunbookCache(cache, *served); !saved.ok()) {
        std::fprintf(stderr, "warning: runbooks not kept for --direct: %s\n",
                     std::string(saved.message()).c_str());
      }
      return RunbookLibrary::FromProto(*served, "the controller's runbooks",
                                       ValidateRunbookStep);
    }
    // A controller that keeps none, or keeps them from this operator.
    if (!absl::IsNotFound(served.status()) &&
        !absl::IsPermissionDenied(served.status()))
      return served.status();
    return LoadRunbooks((*config)->runbooks());
  }
  absl::StatusOr<RunbookLibrary> local = LoadRunbooks((*config)->runbooks());
  if (local.ok() || !absl::IsNotFound(local.status())) return local;
  absl::StatusOr<v1::Runbook> cached = ReadRunbookCache(cache);
  if (!cached.ok()) {
    if (absl::IsNotFound(cached.status())) return local.status();
    return cached.status();
  }
  std::fprintf(stderr,
               "runbooks: the controller's, as last served (%s); no local "
               "directory at %s\n",
               cache.c_str(), (*config)->runbooks().c_str());
  return RunbookLibrary::FromProto(*cached, cache, ValidateRunbookStep);
}

// A step as a person reads it before anything runs: the opsctl command with
// the run's values, or a guided step's instructions in full (the seed's
// warnings, "un-check Enable Skip Matching", live there), placeholders of
// the document filled.
void PrintStep(const char* phase, int number, const v1::RunbookStep& step,
               const RunbookVars& vars) {
  std::printf("  %-12s %d. %s\n", phase, number,
              FillText(step.title(), vars).c_str());
  if (step.manual().empty()) {
    std::printf("     $ opsctl %s\n",
                absl::StrJoin(ExpandStep(step, vars), " ").c_str());
    return;
  }
  for (absl::string_view line :
       absl::StrSplit(FillText(step.manual(), vars), '\n'))
    std::printf("     %s\n", std::string(line).c_str());
  std::printf("     (guided: `runbook run` asks you to confirm it is done)\n");
}

void PrintEntry(const v1::RunbookEntry& entry, const RunbookVars& vars) {
  std::printf("%s: %s (%s)\n", entry.id().c_str(),
              FillText(entry.alert(), vars).c_str(), entry.product().c_str());
  if (!entry.summary().empty())
    std::printf("  %s\n", FillText(entry.summary(), vars).c_str());
  if (!entry.roles().empty())
    std::printf("  for hosts with role %s\n",
                absl::StrJoin(entry.roles(), " or ").c_str());
  for (const RunbookPhase& phase : RunbookPhases(entry)) {
    for (int i = 0; i < phase.steps->size(); ++i)
      PrintStep(phase.name, i + 1, (*phase.steps)[i], vars);
  }
}

// Records a guided step's confirmation (or its refusal) in the team's audit
// log through the controller, as the actions of the run are; with --direct
// in the local log, as direct actions are.
absl::Status RecordGuidedStep(Invocation& invocation,
                              const v1::RunbookEntry& entry, const char* phase,
                              const v1::RunbookStep& step, bool confirmed) {
  const std::string& run = invocation.EnsureRunId();
  if (invocation.via_controller()) {
    absl::StatusOr<ControllerClient*> client = invocation.controller();
    if (!client.ok()) return client.status();
    v1::GuidedStepRecord record;
    record.set_entry(entry.id());
    record.set_phase(phase);
    record.set_step(step.title());
    record.set_confirmed(confirmed);
    record.set_run_id(run);
    record.set_incident(invocation.context().incident);
    record.set_ticket(invocation.context().ticket);
    record.set_reason(invocation.context().reason);
    const OperatorIdentity who = invocation.who();
    record.mutable_claims()->set_os_user(who.os_user);
    record.mutable_claims()->set_os_uid(who.os_uid);
    record.mutable_claims()->set_sudo_user(who.sudo_user);
    return (*client)
        ->Call(&ControllerStub::RecordGuidedStep, record,
               invocation.CallTimeout(absl::Seconds(30)))
        .status();
  }
  absl::StatusOr<AuditingCaller> caller = invocation.Caller();
  if (!caller.ok()) return caller.status();
  absl::StatusOr<AuditStore*> audit = invocation.audit();
  if (!audit.ok()) return audit.status();
  AuditIntent intent = GuidedStepIntent(entry.id(), phase, step.title());
  intent.request_id = NewRequestId();
  intent.run_id = run;
  intent.started_at_ms = absl::ToUnixMillis(absl::Now());
  intent.os_user = caller->who().os_user;
  intent.os_uid = caller->who().os_uid;
  intent.sudo_user = caller->who().sudo_user;
  intent.cert_identity = caller->who().cert_identity;
  intent.reason = invocation.context().reason;
  intent.incident = invocation.context().incident;
  intent.ticket = invocation.context().ticket;
  absl::StatusOr<int64_t> row = (*audit)->RecordIntent(intent);
  if (!row.ok()) return row.status();
  return (*audit)->RecordResult(*row, GuidedStepResult(confirmed));
}

// Which steps of an entry a run does.
enum class StepSelection {
  kAll,
  kDiagnosis,
  kAutomatic,  // the automatic diagnosis steps, as on alert arrival
};

struct PlannedStep {
  const char* phase;
  int number;  // within its phase, from 1
  int of;      // steps in its phase
  const v1::RunbookStep* step;
  std::vector<std::string> args;  // filled opsctl arguments; none if guided
};

// Every step the run will do, its placeholders filled, checked before the
// first runs: a run that cannot finish for want of a value stops before it
// changes anything.
absl::StatusOr<std::vector<PlannedStep>> PlanRun(const v1::RunbookEntry& entry,
                                                 const RunbookVars& vars,
                                                 StepSelection selection) {
  RunbookVars given;  // an empty value is no value: "{target}" stays
  for (const auto& [name, value] : vars) {
    // A value (an operator's --var, an alert's mountpoint or device) is
    // data: it never becomes one of the step's flags.
    if (absl::StartsWith(value, "-"))
      return absl::InvalidArgumentError(
          absl::StrCat("the value of {", name, "} starts with '-' (\"",
                       TerminalSafe(value.substr(0, 64)),
                       "\"): a value cannot become a flag; nothing was run"));
    if (!value.empty()) given[name] = value;
  }
  std::vector<PlannedStep> plan;
  for (const auto [phase, steps] : RunbookPhases(entry)) {
    if (selection != StepSelection::kAll &&
        std::string_view(phase) != "diagnosis")
      continue;
    for (int i = 0; i < steps->size(); ++i) {
      const v1::RunbookStep& step = (*steps)[i];
      if (selection == StepSelection::kAutomatic && !step.automatic()) continue;
      PlannedStep planned{phase, i + 1, steps->size(), &step,
                          ExpandStep(step, given)};
      for (const std::string& arg : planned.args) {
        const size_t open = arg.find('{');
        const size_t close = arg.find('}', open);
        if (open == std::string::npos || close == std::string::npos) continue;
        const std::string name = arg.substr(open + 1, close - open - 1);
        const std::string where =
            absl::StrCat(phase, " step ", i + 1, " (", step.title(), ")");
        if (name == "target" || name == "host") {
          return absl::InvalidArgumentError(absl::StrCat(
              "runbook ", entry.id(), " acts on a host and none was given: ",
              "give --host HOST (the host that alerted), --incident ID (its "
              "host), or --target HOSTS; nothing was run"));
        }
        return absl::InvalidArgumentError(absl::StrCat(
            where, " needs {", name, "}: give --var ", name, "=VALUE",
            name == "mountpoint" ? " (the alert's mountpoint)" : "",
            " or --incident ID; nothing was run"));
      }
      // Checked again with its values: what loading checked with
      // placeholders holds for what will run.
      if (!planned.args.empty()) {
        if (absl::Status valid = ValidateRunbookStep(
                planned.args,
                step.automatic() || selection == StepSelection::kAutomatic);
            !valid.ok())
          return absl::InvalidArgumentError(absl::StrCat(phase, " step ", i + 1,
                                                         ": ", valid.message(),
                                                         "; nothing was run"));
      }
      plan.push_back(std::move(planned));
    }
  }
  return plan;
}

// Runs an entry's phases in order, checking each step before the next.
int RunEntry(Invocation& invocation, const v1::RunbookEntry& entry,
             const RunbookVars& vars, bool assume_yes,
             StepSelection selection) {
  absl::StatusOr<std::vector<PlannedStep>> plan =
      PlanRun(entry, vars, selection);
  if (!plan.ok()) return CommandFailed(kExitUsage, plan.status().message());
  const std::string& target = vars.at("target");
  const std::string& run = invocation.EnsureRunId();
  std::printf("runbook %s: %s, target %s, run %s\n", entry.id().c_str(),
              FillText(entry.alert(), vars).c_str(),
              target.empty() ? "(none)" : target.c_str(), run.c_str());
  int done = 0;
  for (PlannedStep& planned : *plan) {
    const v1::RunbookStep& step = *planned.step;
    const char* phase = planned.phase;
    const int number = planned.number;
    std::printf("\n--- %s %d/%d: %s\n", phase, number, planned.of,
                FillText(step.title(), vars).c_str());
    std::fflush(stdout);
    if (!step.manual().empty()) {
      std::printf("%s\n", FillText(step.manual(), vars).c_str());
      std::fflush(stdout);
      const bool confirmed = ConfirmChange("Done?", assume_yes).ok();
      if (absl::Status recorded =
              RecordGuidedStep(invocation, entry, phase, step, confirmed);
          !recorded.ok()) {
        return CommandFailed(
            kExitAuditUnavailable,
            absl::StrCat("cannot record the confirmation of ", phase, " step ",
                         number, " in the audit log: ", recorded.message()));
      }
      if (!confirmed) {
        return CommandFailed(
            kExitOperationFailed,
            absl::StrCat("stopped at ", phase, " step ", number,
                         ": not confirmed; ", done, " steps done; run ", run));
      }
      ++done;
      continue;
    }
    std::vector<std::string>& args = planned.args;
    absl::StatusOr<ParsedCommand> parsed = ParseCommand(args);
    const bool changes = ChangesHost(parsed->command);
    if (changes && selection != StepSelection::kAutomatic && args.size() > 1 &&
        !IsOneHostName(args[1])) {
      // The step names hosts by an expression ("role:salt-master,env:
      // production"): the person is asked about the hosts it selects now,
      // by name, and the step acts on exactly those.
      absl::StatusOr<std::vector<std::string>> names =
          SelectedHostNames(invocation, args[1]);
      if (!names.ok()) {
        return CommandFailed(
            kExitUsage, absl::StrCat("stopped before ", phase, " step ", number,
                                     ": ", names.status().message(), "; ", done,
                                     " steps done; run ", run));
      }
      args[1] = absl::StrJoin(*names, ",");
    }
    std::printf("$ opsctl %s\n", absl::StrJoin(args, " ").c_str());
    std::fflush(stdout);
    if (changes && selection != StepSelection::kAutomatic) {
      const std::vector<std::string> hosts =
          absl::StrSplit(args[1], ',', absl::SkipEmpty());
      absl::Status confirmed = ConfirmChange(
          absl::StrCat("Change ", hosts.size() == 1 ? "host " : "hosts ",
                       absl::StrJoin(hosts, ", "), ": `opsctl ",
                       absl::StrJoin(args, " "), "`?"),
          assume_yes);
      if (!confirmed.ok()) {
        return CommandFailed(
            kExitOperationFailed,
            absl::StrCat("stopped before ", phase, " step ", number, ": ",
                         confirmed.message(), "; ", done, " steps done; run ",
                         run));
      }
    }
    // Asked above, or, for an automatic step, a vetted command the agent
    // runs for the automation role only if it is declared read-only
    // (ValidateRunbookStep).
    if (changes) args.push_back("--yes");
    parsed = ParseCommand(args);
    // The team's log says which step each action was for. The title is the
    // runbook's own, unfilled: no alert text reaches a reason.
    const std::string own_reason = invocation.context().reason;
    const std::string step_reason =
        absl::StrCat("runbook ", entry.id(), ", ", phase, " step ", number,
                     ": ", step.title().substr(0, 200));
    invocation.set_reason(own_reason.empty()
                              ? step_reason
                              : absl::StrCat(own_reason, "; ", step_reason));
    const int code = parsed->command.run(invocation, parsed->args);
    invocation.set_reason(own_reason);
    std::fflush(stdout);
    if (code != kExitOk) {
      return CommandFailed(
          code,
          absl::StrCat("stopped: ", phase, " step ", number, " (", step.title(),
                       ") exited ", code, "; ", done,
                       " steps done; see `opsctl audit --run ", run, "`"));
    }
    ++done;
  }
  std::printf(
      "\nrunbook %s: %d steps done; `opsctl audit --run %s` shows the "
      "timeline\n",
      entry.id().c_str(), done, run.c_str());
  return kExitOk;
}

// The values a run for an incident takes from it when not given: its host,
// environment, mountpoint and device. Only the controller knows incidents.
absl::Status FillFromIncident(Invocation& invocation, std::string& host,
                              RunbookVars& vars) {
  const std::string& id = invocation.context().incident;
  if (!invocation.via_controller())
    return absl::InvalidArgumentError(
        absl::StrCat("with --direct the controller cannot say which host ", id,
                     " is about: give --host HOST"));
  absl::StatusOr<ControllerClient*> client = invocation.controller();
  if (!client.ok()) return client.status();
  v1::GetIncidentRequest request;
  request.set_id(id);
  absl::StatusOr<v1::Incident> incident =
      (*client)->Call(&ControllerStub::GetIncident, request,
                      invocation.CallTimeout(absl::Seconds(30)));
  if (!incident.ok()) return incident.status();
  if (!incident->host_known() || !IsOneHostName(incident->host()))
    return absl::InvalidArgumentError(
        absl::StrCat(id, "'s host \"", incident->host(),
                     "\" is not a host of the inventory: give --host HOST"));
  host = incident->host();
  for (auto [name, value] : {std::pair{"environment", &incident->environment()},
                             {"mountpoint", &incident->mountpoint()},
                             {"device", &incident->device()}}) {
    if (vars[name].empty()) vars[name] = *value;
  }
  return absl::OkStatus();
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
      for (const RunbookPhase& phase : RunbookPhases(entry)) {
        for (const v1::RunbookStep& step : *phase.steps) {
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
  const RunbookVars shown = {{"environment", args.Get("environment")},
                             {"host", args.Get("host")}};
  if (action == "show") {
    PrintEntry(*entry, shown);
    return kExitOk;
  }
  if (action == "run") {
    RunbookVars vars = {{"environment", args.Get("environment")}};
    for (const std::string& var : args.GetAll("var")) {
      const size_t eq = var.find('=');
      if (eq == std::string::npos || eq == 0)
        return CommandFailed(kExitUsage,
                             absl::StrCat("--var ", var, ": use NAME=VALUE"));
      const std::string name = var.substr(0, eq);
      if (name == "host" || name == "target")
        return CommandFailed(
            kExitUsage,
            absl::StrCat("--var ", name, ": give --host or --target"));
      vars[name] = var.substr(eq + 1);
    }
    // What a run acts on: the host given or its incident's, else the hosts
    // --target names, never an entry's own expression: a run for one
    // alert changes the host that alerted, not every host of its role.
    std::string host = args.Get("host");
    if (host.empty() && !args.Has("target") &&
        !invocation.context().incident.empty()) {
      if (absl::Status filled = FillFromIncident(invocation, host, vars);
          !filled.ok())
        return CommandFailed(kExitUsage, filled.message());
    }
    if (!host.empty() && args.Has("target"))
      return CommandFailed(kExitUsage,
                           "give --host (the one host to act on) or --target "
                           "(hosts by expression), not both");
    if (args.Has("host") && !IsOneHostName(host))
      return CommandFailed(
          kExitUsage,
          absl::StrCat("--host takes one host's name, and \"", host,
                       "\" is not one; to act on several, give --target"));
    if (args.Has("automatic") && (host.empty() || args.Has("target")))
      return CommandFailed(kExitUsage,
                           "--automatic runs on one host: give --host, "
                           "not --target");
    if (args.Has("automatic") && args.Has("yes"))
      return CommandFailed(kExitUsage,
                           "--automatic runs only read-only steps and asks "
                           "nothing: --yes does not apply");
    vars["host"] = host;
    vars["target"] = host;
    if (args.Has("target")) {
      // Named by the operator; resolved once, so that every prompt names
      // the hosts and every step acts on the same ones.
      absl::StatusOr<std::vector<std::string>> names =
          SelectedHostNames(invocation, args.Get("target"));
      if (!names.ok())
        return CommandFailed(kExitUsage, names.status().message());
      vars["target"] = absl::StrJoin(*names, ",");
    }
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
        client.ok() ? (*client)->Call(&ControllerStub::ListHosts,
                                      v1::ListHostsRequest(),
                                      invocation.CallTimeout(absl::Seconds(30)))
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
        MatchPastedAlert(alert, roles, library->entries());
    std::printf("alert: %s%s", alert.boiled.c_str(),
                alert.resolved ? "  RESOLVED" : "");
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
    std::printf("  runbook entry: ");
    PrintEntry(*match.entry, vars);
    if (args.Has("run") && alert.resolved) {
      std::printf("  not run: the alert is resolved\n");
      continue;
    }
    if (args.Has("run") && !host.has_value()) {
      // Pasted text is not trusted to name hosts ("*", "role:web").
      std::printf(
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
       "`show` prints every step, guided ones in full. `run` acts on the "
       "host it is\n"
       "given (--host, or --incident: the incident's host, environment and "
       "mountpoint)\n"
       "or the hosts --target names, checks every step has its values before "
       "the first\n"
       "runs, does the diagnosis steps at once, asks before each change naming "
       "its hosts\n"
       "(or --yes), asks you to confirm each guided step (recorded in the "
       "team's log with\n"
       "the incident), stops at the first failure, and records every step "
       "under one run\n"
       "id. `import` turns the on-call markdown document into entries with "
       "guided steps,\n"
       "to be refined by hand.\n\n"
       "Examples:\n"
       "  opsctl runbook list\n"
       "  opsctl runbook show mitx-vault-credentials --environment qa\n"
       "  opsctl runbook run xqwatcher-disk --incident INC-42\n"
       "  opsctl runbook run xqwatcher-disk --host ip-10-7-0-78 --var "
       "mountpoint=/\n"
       "  opsctl runbook import oncall.md > runbooks/imported.textproto\n",
       {{"host", "HOST",
         "the one host to act on (the host that alerted); fills {host} and "
         "{target}"},
        {"target", "HOSTS",
         "the hosts to act on, by expression (instead of --host); each prompt "
         "names them"},
        {"environment", "ENV",
         "fills {environment} and the document's <ENVIRONMENT> (default: "
         "the incident's)"},
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
       {{"run", "",
         "run the matched entry's diagnosis steps on the alert's host (firing "
         "alerts only)"},
        {"yes", "", "answer yes to guided-step confirmations"}},
       1,
       1,
       RunTriage},
  };
}

}  // namespace opsagent
