// Alertmanager's webhook_config notifications ("version": "4").

#include "controller/alerts/alertmanager_format.h"

namespace opsagent {
namespace {

class AlertmanagerSource : public AlertmanagerFormatSource {
 public:
  AlertmanagerSource()
      : AlertmanagerFormatSource("alertmanager", "Alertmanager's webhook",
                                 "4") {}
};

OPSAGENT_ALERT_SOURCE(AlertmanagerSource);

}  // namespace
}  // namespace opsagent
