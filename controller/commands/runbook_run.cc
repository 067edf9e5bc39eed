#include "controller/commands/runbook_run.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/host_text.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/terminal.h"
#include "controller/runbook/runbook_library.h"

namespace opsagent {
namespace {

// A step as a person reads it before anything runs: the opsctl command with
// the run's values, or a guided step's instructions in full (the seed's
// warnings, "un-check Enable Skip Matching", live there), placeholders of
// the document filled.
void PrintStep(FILE* out, const char* phase, int number,
               const v1::RunbookStep& step, const RunbookVars& vars) {
  std::fprintf(out, "  %-12s %d. %s\n", phase, number,
               FillText(step.title(), vars).c_str());
  if (step.manual().empty()) {
    std::fprintf(out, "     $ opsctl %s\n",
                 ShownArguments(ExpandStep(step, vars)).c_str());
    return;
  }
  for (absl::string_view line :
       absl::StrSplit(FillText(step.manual(), vars), '\n'))
    std::fprintf(out, "     %s\n", std::string(line).c_str());
  std::fprintf(out,
               "     (guided: `runbook run` asks you to confirm it is done)\n");
}

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
    if (!value.empty()) given[name] = value;
  }
  // A value (an operator's --var, an alert's mountpoint or device) is data:
  // it never becomes one of a step's flags. One the run's steps do not use
  // (an alert's device, for an entry that never names it) stops nothing.
  const auto flag_in = [&](const v1::RunbookStep& step) -> absl::Status {
    for (const auto& [name, value] : given) {
      if (!absl::StartsWith(value, "-")) continue;
      const std::string placeholder = absl::StrCat("{", name, "}");
      for (const std::string& arg : step.opsctl()) {
        if (absl::StrContains(arg, placeholder))
          return absl::InvalidArgumentError(absl::StrCat(
              "the value of {", name, "} starts with '-' (\"",
              TerminalSafe(value.substr(0, 64)),
              "\"): a value cannot become a flag; nothing was run"));
      }
    }
    return absl::OkStatus();
  };
  std::vector<PlannedStep> plan;
  for (const auto [phase, steps] : RunbookPhases(entry)) {
    if (selection != StepSelection::kAll &&
        std::string_view(phase) != "diagnosis")
      continue;
    for (int i = 0; i < steps->size(); ++i) {
      const v1::RunbookStep& step = (*steps)[i];
      if (selection == StepSelection::kAutomatic && !step.automatic()) continue;
      if (absl::Status flag = flag_in(step); !flag.ok()) return flag;
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

}  // namespace

void PrintEntry(FILE* out, const v1::RunbookEntry& entry,
                const RunbookVars& vars) {
  std::fprintf(out, "%s: %s (%s)\n", entry.id().c_str(),
               FillText(entry.alert(), vars).c_str(), entry.product().c_str());
  if (!entry.summary().empty())
    std::fprintf(out, "  %s\n", FillText(entry.summary(), vars).c_str());
  if (!entry.roles().empty())
    std::fprintf(out, "  for hosts with role %s\n",
                 absl::StrJoin(entry.roles(), " or ").c_str());
  for (const RunbookPhase& phase : RunbookPhases(entry)) {
    for (int i = 0; i < phase.steps->size(); ++i)
      PrintStep(out, phase.name, i + 1, (*phase.steps)[i], vars);
  }
}

// Runs an entry's phases in order, checking each step before the next.
int RunEntry(Invocation& invocation, const v1::RunbookEntry& entry,
             const RunbookVars& vars, bool assume_yes,
             StepSelection selection) {
  absl::StatusOr<std::vector<PlannedStep>> plan =
      PlanRun(entry, vars, selection);
  if (!plan.ok())
    return CommandFailed(invocation, kExitUsage, plan.status().message());
  const std::string& target = vars.at("target");
  const std::string& run = invocation.EnsureRunId();
  std::fprintf(invocation.out(), "runbook %s: %s, target %s, run %s\n",
               entry.id().c_str(), FillText(entry.alert(), vars).c_str(),
               target.empty() ? "(none)" : target.c_str(), run.c_str());
  int done = 0;
  for (PlannedStep& planned : *plan) {
    const v1::RunbookStep& step = *planned.step;
    const char* phase = planned.phase;
    const int number = planned.number;
    std::fprintf(invocation.out(), "\n--- %s %d/%d: %s\n", phase, number,
                 planned.of, FillText(step.title(), vars).c_str());
    std::fflush(invocation.out());
    if (!step.manual().empty()) {
      std::fprintf(invocation.out(), "%s\n",
                   FillText(step.manual(), vars).c_str());
      std::fflush(invocation.out());
      const bool confirmed = invocation.Confirm("Done?", assume_yes).ok();
      if (absl::Status recorded =
              FleetOf(invocation)
                  ->RecordGuidedStep(entry, phase, step, confirmed);
          !recorded.ok()) {
        return CommandFailed(
            invocation, kExitAuditUnavailable,
            absl::StrCat("cannot record the confirmation of ", phase, " step ",
                         number, " in the audit log: ", recorded.message()));
      }
      if (!confirmed) {
        return CommandFailed(
            invocation, kExitOperationFailed,
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
          FleetOf(invocation)->SelectHostNames(args[1]);
      if (!names.ok()) {
        return CommandFailed(
            invocation, kExitUsage,
            absl::StrCat("stopped before ", phase, " step ", number, ": ",
                         names.status().message(), "; ", done,
                         " steps done; run ", run));
      }
      args[1] = absl::StrJoin(*names, ",");
    }
    std::fprintf(invocation.out(), "$ opsctl %s\n",
                 ShownArguments(args).c_str());
    std::fflush(invocation.out());
    if (changes && selection != StepSelection::kAutomatic) {
      const std::vector<std::string> hosts =
          absl::StrSplit(args[1], ',', absl::SkipEmpty());
      absl::Status confirmed = invocation.Confirm(
          absl::StrCat("Change ", hosts.size() == 1 ? "host " : "hosts ",
                       absl::StrJoin(hosts, ", "), ": `opsctl ",
                       ShownArguments(args), "`?"),
          assume_yes);
      if (!confirmed.ok()) {
        return CommandFailed(
            invocation, kExitOperationFailed,
            absl::StrCat("stopped before ", phase, " step ", number, ": ",
                         confirmed.message(), "; ", done, " steps done; run ",
                         run));
      }
    }
    // Asked above, or, for an automatic step, a vetted command that may be
    // a read (ValidateRunbookStep): sent read-only, so that the agent runs
    // it only if it is declared read_only, whoever runs the runbook.
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
    invocation.set_read_only(step.automatic());
    const int code = parsed->command.run(invocation, parsed->args);
    invocation.set_read_only(false);
    invocation.set_reason(own_reason);
    std::fflush(invocation.out());
    if (code != kExitOk) {
      return CommandFailed(
          invocation, code,
          absl::StrCat("stopped: ", phase, " step ", number, " (", step.title(),
                       ") exited ", code, "; ", done,
                       " steps done; see `opsctl audit --run ", run, "`"));
    }
    ++done;
  }
  std::fprintf(invocation.out(),
               "\nrunbook %s: %d steps done; `opsctl audit --run %s` shows the "
               "timeline\n",
               entry.id().c_str(), done, run.c_str());
  return kExitOk;
}

}  // namespace opsagent
