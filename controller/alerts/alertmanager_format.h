#ifndef OPSAGENT_CONTROLLER_ALERTS_ALERTMANAGER_FORMAT_H_
#define OPSAGENT_CONTROLLER_ALERTS_ALERTMANAGER_FORMAT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/alerts/alert_notification.h"
#include "controller/alerts/webhook_json.h"

namespace opsagent {

// The notification format of Alertmanager's webhook, which Grafana's
// legacy webhook copies: a status, an externalURL and 1 to 1,000 alerts,
// each with a status, labels (an alertname among them), annotations, an
// RFC 3339 startsAt (and endsAt), a fingerprint of hex digits (computed
// from the labels when absent) and a generatorURL. Other fields are not
// kept. `source` names the sender's kind in what is returned.
absl::StatusOr<AlertNotification> ParseAlertmanagerFormat(
    const Json& root, absl::string_view source);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_ALERTMANAGER_FORMAT_H_
