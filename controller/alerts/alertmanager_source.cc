// Alertmanager's webhook_config notifications ("version": "4").

#include "controller/alerts/alert_source.h"
#include "controller/alerts/alertmanager_format.h"

namespace opsagent {
namespace {

class AlertmanagerSource : public AlertSource {
 public:
  absl::string_view name() const override { return "alertmanager"; }
  absl::string_view description() const override {
    return "Alertmanager's webhook (\"version\": \"4\")";
  }
  absl::StatusOr<bool> Recognizes(const Json& root) const override {
    absl::StatusOr<std::string> version = OptionalString(root, "", "version");
    if (!version.ok()) return version.status();
    return *version == "4";
  }
  absl::StatusOr<AlertNotification> Parse(const Json& root) const override {
    return ParseAlertmanagerFormat(root, name());
  }
};

OPSAGENT_ALERT_SOURCE(AlertmanagerSource);

}  // namespace
}  // namespace opsagent
