#ifndef OPSAGENT_CONTROLLER_PAGES_INCIDENT_PAGES_H_
#define OPSAGENT_CONTROLLER_PAGES_INCIDENT_PAGES_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/http/http_listener.h"
#include "controller/alerts/incident_store.h"
#include "controller/audit/audit_store.h"
#include "controller/pages/page_links.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// Serves the incident pages (pages { ... } in opsctld's configuration) over
// HTTPS: GET /incidents/INC-7?t=TOKEN (one incident, its actions from the
// team's log), GET /incidents?t=TOKEN (the list) and GET /page.css. A page
// is shown only for a link PageLinks signed for it that has not expired;
// anything else is refused with 403 and a page saying why, an unknown path
// with 404, any method but GET and HEAD with 405. Every answer forbids
// scripts, frames, forms, images and referrers (Content-Security-Policy
// and friends) and is not cached. `links`, `incidents` and `audit` must
// outlive the listener.
absl::StatusOr<std::unique_ptr<HttpListener>> ServeIncidentPages(
    const v1::IncidentPagesConfig& config, const PageLinks* links,
    IncidentStore* incidents, AuditStore* audit);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_PAGES_INCIDENT_PAGES_H_
