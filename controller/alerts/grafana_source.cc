// Grafana's webhook contact point ("version": "1"). Its body is
// Alertmanager's format with more: orgId, title, state, message, and per
// alert values, silenceURL, dashboardURL; those are not kept.

#include "controller/alerts/alert_source.h"
#include "controller/alerts/alertmanager_format.h"

namespace opsagent {
namespace {

class GrafanaSource : public AlertSource {
 public:
  absl::string_view name() const override { return "grafana"; }
  absl::string_view description() const override {
    return "Grafana's webhook (\"version\": \"1\")";
  }
  absl::StatusOr<bool> Recognizes(const Json& root) const override {
    absl::StatusOr<std::string> version = OptionalString(root, "", "version");
    if (!version.ok()) return version.status();
    return *version == "1";
  }
  absl::StatusOr<AlertNotification> Parse(const Json& root) const override {
    return ParseAlertmanagerFormat(root, name());
  }
};

OPSAGENT_ALERT_SOURCE(GrafanaSource);

}  // namespace
}  // namespace opsagent
