#ifndef OPSAGENT_CONTROLLER_COMMANDS_RUNBOOK_RUN_H_
#define OPSAGENT_CONTROLLER_COMMANDS_RUNBOOK_RUN_H_

#include <cstdio>

#include "absl/status/statusor.h"
#include "controller/invocation.h"
#include "controller/runbook/runbook_library.h"
#include "opsagent/v1/runbook.pb.h"

namespace opsagent {

// How opsctl runs a runbook entry (`runbook run`, `triage`): its steps
// planned and checked with their values before the first runs, each opsctl
// step run as its own command would, each guided step asked and recorded.

// Prints `entry` to `out` as `runbook show` does, with what `vars` fill in.
void PrintEntry(FILE* out, const v1::RunbookEntry& entry,
                const RunbookVars& vars);

// Which steps of an entry a run does.
enum class StepSelection {
  kAll,
  kDiagnosis,
  kAutomatic,  // the automatic diagnosis steps, as on alert arrival
};

// Runs an entry's phases in order, checking each step before the next.
int RunEntry(Invocation& invocation, const v1::RunbookEntry& entry,
             const RunbookVars& vars, bool assume_yes, StepSelection selection);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_RUNBOOK_RUN_H_
