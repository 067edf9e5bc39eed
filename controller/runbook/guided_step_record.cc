#include "controller/runbook/guided_step_record.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "controller/runbook/runbook_library.h"

namespace opsagent {

v1::AuditIntent GuidedStepIntent(absl::string_view entry,
                                 absl::string_view phase,
                                 absl::string_view step) {
  v1::AuditIntent intent;
  intent.set_host("-");
  intent.set_address("-");
  intent.set_operation("guided_step");
  intent.set_parameters_json(DumpJson({{"entry", std::string(entry)},
                                       {"phase", std::string(phase)},
                                       {"step", std::string(step)}}));
  return intent;
}

v1::AuditResult GuidedStepResult(bool confirmed) {
  v1::AuditResult result;
  result.set_outcome(confirmed ? v1::OUTCOME_OK : v1::OUTCOME_ERROR);
  result.set_finished_at_ms(absl::ToUnixMillis(absl::Now()));
  result.set_summary(confirmed ? "operator confirmed the step was done"
                               : "operator did not confirm the step");
  return result;
}

absl::Status FindGuidedStep(const v1::Runbook& runbooks,
                            const v1::GuidedStepRecord& record) {
  for (const v1::RunbookEntry& entry : runbooks.entry()) {
    if (entry.id() != record.entry()) continue;
    for (const RunbookPhase& phase : RunbookPhases(entry)) {
      if (phase.name != record.phase()) continue;
      for (const v1::RunbookStep& step : *phase.steps) {
        if (!step.manual().empty() && step.title() == record.step())
          return absl::OkStatus();
      }
    }
    return absl::NotFoundError(absl::StrCat("runbook ", record.entry(),
                                            " has no guided ", record.phase(),
                                            " step \"", record.step(), "\""));
  }
  return absl::NotFoundError(
      absl::StrCat("the controller keeps no runbook ", record.entry()));
}

}  // namespace opsagent
