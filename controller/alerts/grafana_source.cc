// Grafana's webhook contact point ("version": "1"). Its body is
// Alertmanager's format with more: orgId, title, state, message, and per
// alert values, dashboardURL, panelURL and silenceURL; the links are kept
// (alert_links.h), the rest is not.

#include "controller/alerts/alertmanager_format.h"

namespace opsagent {
namespace {

class GrafanaSource : public AlertmanagerFormatSource {
 public:
  GrafanaSource()
      : AlertmanagerFormatSource("grafana", "Grafana's webhook", "1") {}
};

OPSAGENT_ALERT_SOURCE(GrafanaSource);

}  // namespace
}  // namespace opsagent
