#ifndef OPSAGENT_CONTROLLER_RUNBOOK_ALERT_TRIAGE_H_
#define OPSAGENT_CONTROLLER_RUNBOOK_ALERT_TRIAGE_H_

#include <map>
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
  std::string name;         // DiskUsageWarning
  std::string group;        // mitx-production
  std::string subject;      // xqwatcher
  std::string boiled;       // DiskUsageWarning xqwatcher
  std::string host;         // ip-10-7-0-78
  std::string environment;  // production
  std::string mountpoint;   // from labels, when the alert has them
  std::string device;
  std::vector<std::string> tokens;  // every word, lower-cased, for matching
};

// Every alert in `text`: each "[FIRING:N] ..." occurrence, or the whole text
// as one alert when there is none. Reads the older Prometheus subject lines
// and Grafana's notifications as Slack shows them ("[FIRING:1] -
// DiskUsageWarning", "Description - Filesystem on /dev/nvme0n1p1 at
// ip-10-22-4-17 is 85.02% full.", " - instance = ip-10-22-4-17").
std::vector<Alert> ParseAlerts(absl::string_view text);

// The alert an Alertmanager or Grafana notification's labels and
// annotations describe: `alertname`; the host from `instance` (without a
// port) or else the host a description names; `application`/`service` as
// its subject (shown, not matched on: entries are matched on the name and,
// once AddHostRoles adds them, the host's roles); `environment`,
// `mountpoint`, `device`.
Alert AlertFromLabels(const std::map<std::string, std::string>& labels,
                      const std::map<std::string, std::string>& annotations);

// Adds the roles the inventory gives the alert's host to what entries are
// matched on: an alert that names no application ("DiskUsageWarning" on a
// host with the role xqwatcher) then finds "DiskUsageWarning xqwatcher".
void AddHostRoles(const std::vector<std::string>& roles, Alert& alert);

// How well an entry's alert heading fits an alert: the share of the
// heading's words found in the alert ("<ENVIRONMENT>" matches anything).
// The heading's alert name also matches the entry's `alert_names`, and a
// "...Critical" alert the entry for its "...Warning" variant.
struct EntryMatch {
  const v1::RunbookEntry* entry;
  double score;  // 1.0: every word of the heading is in the alert
};

// All entries, best first.
std::vector<EntryMatch> RankEntries(
    const Alert& alert, const std::vector<v1::RunbookEntry>& entries);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_RUNBOOK_ALERT_TRIAGE_H_
