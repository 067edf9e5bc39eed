#ifndef OPSAGENT_CONTROLLER_OPSCTLD_INCIDENT_PARTS_H_
#define OPSAGENT_CONTROLLER_OPSCTLD_INCIDENT_PARTS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/http/http_listener.h"
#include "common/metrics/metrics.h"
#include "controller/alerts/alertmanager_silences.h"
#include "controller/alerts/incident_store.h"
#include "controller/audit/audit_store.h"
#include "controller/chat/chat_notifier.h"
#include "controller/pages/page_links.h"
#include "controller/server/incident_services.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// What opsctld works incidents with beyond their store, as its
// configuration asks: Alertmanager silences, the pages' signed links, chat
// messages, and their metrics (open incidents, time to the first human
// action). `services` points into the others.
struct IncidentParts {
  std::unique_ptr<AlertmanagerSilences> silences;
  std::unique_ptr<PageLinks> page_links;
  std::unique_ptr<ChatNotifier> chat;
  IncidentServices services;
};

// Makes them; an error names the configuration section. `incidents` (null
// without an alert intake) and `audit_reader` must outlive them.
absl::StatusOr<std::unique_ptr<IncidentParts>> MakeIncidentParts(
    const v1::OpsctldConfig& config, IncidentStore* incidents,
    AuditStore* audit_reader, MetricRegistry& metrics);

// Serves the incident pages when the configuration has them (null
// otherwise), logging where.
absl::StatusOr<std::unique_ptr<HttpListener>> ServePages(
    const v1::OpsctldConfig& config, const IncidentParts& parts,
    AuditStore* audit_reader);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_OPSCTLD_INCIDENT_PARTS_H_
