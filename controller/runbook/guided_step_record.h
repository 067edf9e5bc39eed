#ifndef OPSAGENT_CONTROLLER_RUNBOOK_GUIDED_STEP_RECORD_H_
#define OPSAGENT_CONTROLLER_RUNBOOK_GUIDED_STEP_RECORD_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "controller/audit/audit_record.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// The audit row of an operator's answer to a runbook's guided step, in one
// form for the team's log (opsctld, RecordGuidedStep) and the local one
// (--direct): operation "guided_step" on no host ("-"), the entry, phase
// and step as its parameters. The caller fills who, when, the run, the
// reason and the incident, as for any other action.
v1::AuditIntent GuidedStepIntent(absl::string_view entry,
                                 absl::string_view phase,
                                 absl::string_view step);

// Confirmed is an ok outcome; not confirmed is an error, so that the run's
// timeline shows where it stopped.
v1::AuditResult GuidedStepResult(bool confirmed);

// That `runbooks` hold the guided step `record` names: its entry, and in
// the phase it names a guided (manual) step of that title; NOT_FOUND
// saying which is missing.
absl::Status FindGuidedStep(const v1::Runbook& runbooks,
                            const v1::GuidedStepRecord& record);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_RUNBOOK_GUIDED_STEP_RECORD_H_
