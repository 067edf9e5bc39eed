#ifndef OPSAGENT_CONTROLLER_SERVER_RUN_INCIDENT_H_
#define OPSAGENT_CONTROLLER_SERVER_RUN_INCIDENT_H_

#include <string>

#include "absl/status/status.h"
#include "common/operation_catalog.h"
#include "controller/alerts/incident_store.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// Checks the incident a Run's signed requests name before anything is
// relayed or recorded: each is "" or an id in its one form (INC-7), and,
// when this controller keeps incidents (`incidents` not null: the alert
// intake is on), one of them, so that no action is filed under an incident
// whose timeline will never show it. A controller without an alert intake
// keeps no incidents and takes any INC-<n> (the team's other tracker
// numbers them). INVALID_ARGUMENT names the id and what to do; a request
// that does not parse is left to RelayRun to refuse.
absl::Status CheckRunIncident(const v1::RunRequest& run,
                              const OperationInfo& op,
                              IncidentStore* incidents);

// The same check for one incident id ("" passes): a guided step's
// confirmation (RecordGuidedStep) is filed under it as a Run's calls are.
absl::Status CheckNamedIncident(const std::string& incident,
                                IncidentStore* incidents);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_RUN_INCIDENT_H_
