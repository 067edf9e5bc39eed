#ifndef OPSAGENT_CONTROLLER_RUNBOOK_ALERT_TRIAGE_H_
#define OPSAGENT_CONTROLLER_RUNBOOK_ALERT_TRIAGE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "opsagent/v1/runbook.pb.h"

namespace opsagent {

// One alert found in pasted text, boiled down the way the on-call
// document's style guide asks: "[Prometheus]: [FIRING:1] DiskUsageWarning
// mitx-production (xqwatcher filesystem /dev/root ext4 ip-10-7-0-78 ..."
// becomes "DiskUsageWarning xqwatcher", host ip-10-7-0-78, environment
// production.
struct Alert {
  std::string name;                 // DiskUsageWarning
  std::string group;                // mitx-production
  std::string subject;              // xqwatcher
  std::string boiled;               // DiskUsageWarning xqwatcher
  std::string host;                 // ip-10-7-0-78
  std::string environment;          // production
  std::vector<std::string> tokens;  // every word, lower-cased, for matching
};

// Every alert in `text`: each "[FIRING:N] ..." occurrence, or the whole text
// as one alert when there is none.
std::vector<Alert> ParseAlerts(absl::string_view text);

// How well an entry's alert heading fits an alert: the share of the
// heading's words found in the alert ("<ENVIRONMENT>" matches anything).
struct EntryMatch {
  const v1::RunbookEntry* entry;
  double score;  // 1.0: every word of the heading is in the alert
};

// All entries, best first.
std::vector<EntryMatch> RankEntries(
    const Alert& alert, const std::vector<v1::RunbookEntry>& entries);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_RUNBOOK_ALERT_TRIAGE_H_
