#ifndef OPSAGENT_CONTROLLER_ALERTS_ALERTMANAGER_FORMAT_H_
#define OPSAGENT_CONTROLLER_ALERTS_ALERTMANAGER_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/alerts/alert_notification.h"
#include "controller/alerts/alert_source.h"
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

// A sender whose notifications are in Alertmanager's format, told apart
// from the others by the body's "version" field.
class AlertmanagerFormatSource : public AlertSource {
 public:
  // `name` as AlertSource says; `who` how people call it ("Grafana's
  // webhook"); `version` the value of "version" that marks its bodies.
  AlertmanagerFormatSource(std::string name, absl::string_view who,
                           std::string version);

  absl::string_view name() const override { return name_; }
  absl::string_view description() const override { return description_; }
  absl::StatusOr<bool> Recognizes(const Json& root) const override;
  absl::StatusOr<AlertNotification> Parse(const Json& root) const override;

 private:
  const std::string name_;
  const std::string description_;
  const std::string version_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_ALERTMANAGER_FORMAT_H_
