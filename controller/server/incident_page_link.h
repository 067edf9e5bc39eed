#ifndef OPSAGENT_CONTROLLER_SERVER_INCIDENT_PAGE_LINK_H_
#define OPSAGENT_CONTROLLER_SERVER_INCIDENT_PAGE_LINK_H_

#include "absl/status/statusor.h"
#include "common/tls/peer_identity.h"
#include "controller/server/incident_services.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// A signed link to an incident's page (or the list's) for `caller`
// (LinkIncidentPage): the incident must exist, the life be 1 minute to 7
// days (0: the pages' default). FAILED_PRECONDITION when the controller
// serves no pages or keeps no incidents.
absl::StatusOr<v1::IncidentPageLink> GiveIncidentPageLink(
    const IncidentServices& incidents, const PeerIdentity& caller,
    const v1::IncidentPageLinkRequest& request);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_INCIDENT_PAGE_LINK_H_
