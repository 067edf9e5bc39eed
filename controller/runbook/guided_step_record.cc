#include "controller/runbook/guided_step_record.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json.h"

namespace opsagent {

AuditIntent GuidedStepIntent(absl::string_view entry, absl::string_view phase,
                             absl::string_view step) {
  AuditIntent intent;
  intent.host = "-";
  intent.address = "-";
  intent.operation = "guided_step";
  intent.parameters_json = DumpJson({{"entry", std::string(entry)},
                                     {"phase", std::string(phase)},
                                     {"step", std::string(step)}});
  return intent;
}

AuditResult GuidedStepResult(bool confirmed) {
  AuditResult result;
  result.outcome = confirmed ? v1::OUTCOME_OK : v1::OUTCOME_ERROR;
  result.finished_at_ms = absl::ToUnixMillis(absl::Now());
  result.summary = confirmed ? "operator confirmed the step was done"
                             : "operator did not confirm the step";
  return result;
}

}  // namespace opsagent
