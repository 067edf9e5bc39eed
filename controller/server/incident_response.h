#ifndef OPSAGENT_CONTROLLER_SERVER_INCIDENT_RESPONSE_H_
#define OPSAGENT_CONTROLLER_SERVER_INCIDENT_RESPONSE_H_

#include "absl/status/statusor.h"
#include "common/tls/peer_identity.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/write_budget.h"
#include "controller/server/incident_services.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// What RespondToIncident works with.
struct IncidentResponseServing {
  // Its store is not null; silences are refused without `silences`.
  IncidentServices incidents;
  AuditStore* audit = nullptr;
  WriteBudget* budget = nullptr;
};

// The longest note or reason a response carries, and the longest silence.
inline constexpr size_t kMaxResponseTextBytes = 4096;
inline constexpr uint32_t kMaxSilenceSeconds = 7 * 24 * 3600;

// Does what `caller` asks of an incident (acknowledge, note, resolve,
// reopen, silence, unsilence), as one row of the team's log under the
// incident's id: the request is checked first (the incident exists and is
// in a state that allows it, the text is bounded and printable, a reason
// where one is needed) and a refused one changes nothing and writes no
// row; then the intent is recorded, the incident changed (and Alertmanager
// called, for silences), and the outcome recorded, an error included. No
// change is made whose intent the log did not take.
absl::StatusOr<v1::IncidentResponseRecorded> RespondToIncident(
    const IncidentResponseServing& serving, const PeerIdentity& caller,
    const v1::IncidentResponse& request);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_INCIDENT_RESPONSE_H_
