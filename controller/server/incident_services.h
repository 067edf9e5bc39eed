#ifndef OPSAGENT_CONTROLLER_SERVER_INCIDENT_SERVICES_H_
#define OPSAGENT_CONTROLLER_SERVER_INCIDENT_SERVICES_H_

#include "common/metrics/metrics.h"
#include "controller/alerts/alertmanager_silences.h"
#include "controller/alerts/incident_events.h"
#include "controller/alerts/incident_store.h"
#include "controller/pages/page_links.h"

namespace opsagent {

// What the controller works incidents with, each null when its part of
// opsctld's configuration is absent.
struct IncidentServices {
  IncidentStore* store = nullptr;                  // alert_intake
  const AlertmanagerSilences* silences = nullptr;  // alertmanager
  const PageLinks* pages = nullptr;                // pages
  IncidentEvents* events = nullptr;                // chat
  // From an incident's opening to the first thing a person did with it,
  // by what that was (metrics).
  Histogram* first_response = nullptr;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_INCIDENT_SERVICES_H_
