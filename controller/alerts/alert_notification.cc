#include "controller/alerts/alert_notification.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/alerts/alert_source.h"
#include "controller/alerts/webhook_json.h"

namespace opsagent {

absl::StatusOr<AlertNotification> ParseAlertNotification(
    absl::string_view body) {
  absl::StatusOr<Json> root = ParseWebhookJson(body);
  if (!root.ok()) return root.status();
  std::vector<std::string> known;
  for (const auto& source : AlertSources()) {
    absl::StatusOr<bool> recognized = source->Recognizes(*root);
    if (!recognized.ok()) return recognized.status();
    if (*recognized) return source->Parse(*root);
    known.emplace_back(source->description());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("body: a notification of none of the senders opsctld "
                   "takes: neither ",
                   absl::StrJoin(known, " nor ")));
}

}  // namespace opsagent
