#ifndef OPSAGENT_CONTROLLER_ALERTS_ALERT_NOTIFICATION_H_
#define OPSAGENT_CONTROLLER_ALERTS_ALERT_NOTIFICATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/alerts/alert_links.h"

namespace opsagent {

// One alert of a notification.
struct ReceivedAlert {
  std::string status;                         // "firing" or "resolved"
  std::map<std::string, std::string> labels;  // alertname always present
  std::map<std::string, std::string> annotations;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;  // 0: not given, or Alertmanager's zero time
  // Alertmanager's and Grafana's hash of the labels; computed the same way
  // from the labels when a sender gives none.
  std::string fingerprint;
  // Its links, and the notification's externalURL, as kept (SafeLink).
  AlertLinks links;
};

// A webhook notification, as one of the alert sources (alert_source.h)
// read it.
struct AlertNotification {
  std::string source;  // its AlertSource's name: "alertmanager", "grafana"
  std::string status;
  std::string external_url;
  std::vector<ReceivedAlert> alerts;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_ALERT_NOTIFICATION_H_
