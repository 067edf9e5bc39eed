// Fuzzes the alert webhook's parser, which reads whatever reaches the
// intake's port once a sender has the token: it never crashes or throws,
// and what it accepts keeps its promises (alerts with an alertname, a known
// status, a hexadecimal fingerprint) and triages without crashing.

#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "controller/alerts/alert_source.h"
#include "controller/runbook/alert_triage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<opsagent::AlertNotification> parsed =
      opsagent::ParseAlertNotification(body);
  if (!parsed.ok()) {
    if (!absl::IsInvalidArgument(parsed.status())) abort();
    return 0;
  }
  if (parsed->alerts.empty() || parsed->alerts.size() > 1000) abort();
  for (const opsagent::ReceivedAlert& alert : parsed->alerts) {
    if (alert.status != "firing" && alert.status != "resolved") abort();
    if (alert.labels.count("alertname") == 0) abort();
    if (alert.fingerprint.empty() || alert.fingerprint.size() > 64) abort();
    for (char c : alert.fingerprint) {
      if (!absl::ascii_isxdigit(c)) abort();
    }
    opsagent::Alert triaged =
        opsagent::AlertFromLabels(alert.labels, alert.annotations);
    if (triaged.name != alert.labels.at("alertname")) abort();
  }
  return 0;
}
