#ifndef OPSAGENT_CONTROLLER_ALERTS_ALERT_SOURCE_H_
#define OPSAGENT_CONTROLLER_ALERTS_ALERT_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/alerts/alert_notification.h"
#include "controller/alerts/webhook_json.h"

namespace opsagent {

// A kind of sender whose webhook notifications opsctld takes in
// (Alertmanager, Grafana). Each is one file that ends in
// OPSAGENT_ALERT_SOURCE(Class); ParseAlertNotification asks each in turn
// whether a body is its own, so another kind (PagerDuty, Opsgenie) is one
// more file. Implementations are stateless and thread-safe.
class AlertSource {
 public:
  virtual ~AlertSource() = default;

  // Recorded with each alert it sent, and in metrics ("alertmanager").
  virtual absl::string_view name() const = 0;
  // How its notifications are told apart, for the error that none is:
  // "Alertmanager's webhook (\"version\": \"4\")".
  virtual absl::string_view description() const = 0;
  // Whether `root` (ParseWebhookJson's) is one of its notifications;
  // INVALID_ARGUMENT when the field that tells is malformed.
  virtual absl::StatusOr<bool> Recognizes(const Json& root) const = 0;
  // Its alerts; INVALID_ARGUMENT naming the field that is wrong.
  virtual absl::StatusOr<AlertNotification> Parse(const Json& root) const = 0;
};

// The registered sources, by name.
const std::vector<std::unique_ptr<const AlertSource>>& AlertSources();

// Registers `source` (OPSAGENT_ALERT_SOURCE, during static
// initialization); two of one name abort at start.
bool RegisterAlertSource(std::unique_ptr<const AlertSource> source);

#define OPSAGENT_ALERT_SOURCE(Class)                      \
  [[maybe_unused]] static const bool kRegistered##Class = \
      ::opsagent::RegisterAlertSource(std::make_unique<Class>())

// Parses and checks a webhook body, which comes from the network: strict
// JSON (webhook_json.h) that one of the registered alert sources
// recognizes and reads (Alertmanager's format: 1 to 1,000 alerts, each with
// a status, an alertname label and an RFC 3339 startsAt; label names are
// Prometheus names, and every string is valid UTF-8 of at most 4 KiB,
// labels without control characters). INVALID_ARGUMENT says what is wrong
// and where ("alerts[2].startsAt: ..."), or which senders' notifications
// are taken.
absl::StatusOr<AlertNotification> ParseAlertNotification(
    absl::string_view body);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_ALERT_SOURCE_H_
