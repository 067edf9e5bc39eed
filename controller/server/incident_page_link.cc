#include "controller/server/incident_page_link.h"

#include <string>

#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace opsagent {

absl::StatusOr<v1::IncidentPageLink> GiveIncidentPageLink(
    const IncidentServices& incidents, const PeerIdentity& caller,
    const v1::IncidentPageLinkRequest& request) {
  if (incidents.store == nullptr || incidents.pages == nullptr)
    return absl::FailedPreconditionError(
        "this controller serves no incident pages (pages { ... } and "
        "alert_intake in opsctld's configuration)");
  std::string scope(PageLinks::kListScope);
  if (!request.incident().empty()) {
    // Known, in its one form: a link to nothing is no use.
    absl::StatusOr<v1::Incident> incident =
        incidents.store->Get(request.incident(), "", 4096);
    if (!incident.ok()) return incident.status();
    scope = incident->id();
  }
  const absl::Duration life = request.valid_seconds() == 0
                                  ? incidents.pages->default_life()
                                  : absl::Seconds(request.valid_seconds());
  if (life < absl::Minutes(1) || life > PageLinks::kMaxLife)
    return absl::InvalidArgumentError("a link lasts from 1 minute to 7 days");
  const absl::Time expires = absl::Now() + life;
  v1::IncidentPageLink link;
  link.set_url(incidents.pages->Url(scope, expires));
  link.set_expires_at_ms(absl::ToUnixMillis(expires));
  spdlog::info("page link for {} until {} given to {}", scope,
               absl::FormatTime(expires), caller.name);
  return link;
}

}  // namespace opsagent
