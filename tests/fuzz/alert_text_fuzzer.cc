// Fuzzes alert triage on pasted text: parsing and matching against
// runbook entries never crash, and a match is either one entry or a tie of
// several, never both.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "absl/strings/string_view.h"
#include "controller/runbook/alert_triage.h"
#include "opsagent/v1/runbook.pb.h"

namespace {

std::vector<opsagent::v1::RunbookEntry> Entries() {
  std::vector<opsagent::v1::RunbookEntry> entries(3);
  entries[0].set_alert("DiskUsageWarning xqwatcher");
  entries[1].set_alert("MemoryUsageWarning operations-<ENVIRONMENT>");
  entries[2].set_alert("AlternateInvalidAccessKeyProduction");
  return entries;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<opsagent::v1::RunbookEntry> entries = Entries();
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  for (const opsagent::Alert& alert : opsagent::ParseAlerts(text)) {
    // Any strings as the host's roles (here the text's own words).
    const opsagent::RunbookMatch match =
        opsagent::MatchEntry(alert.name, {alert.subject, alert.group}, entries);
    if (match.entry != nullptr && match.ambiguous) abort();
    if (match.ambiguous && match.candidates.size() < 2) abort();
  }
  return 0;
}
