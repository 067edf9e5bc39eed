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
  // Under "[RESOLVED]" (or a "Resolved" part of Grafana's message): it has
  // stopped; nothing is to be diagnosed.
  bool resolved = false;
  // The text this alert was read from, after its "[FIRING:N]": what
  // MatchHeading reads when the alert names no host.
  std::string text;
};

// Every alert in `text`: one per host of each "[FIRING:N] ..." or
// "[RESOLVED] ..." occurrence ("[FIRING:2]" names two hosts: in Grafana's
// message each under its own "Labels:", in other texts wherever they are
// named), or the whole text as one alert when there is no such marker.
// Reads the older Prometheus subject lines and Grafana's notifications as
// Slack shows them ("[FIRING:1] - DiskUsageWarning", "Description -
// Filesystem on /dev/nvme0n1p1 at ip-10-22-4-17 is 85.02% full.",
// " - instance = ip-10-22-4-17").
std::vector<Alert> ParseAlerts(absl::string_view text);

// The alert an Alertmanager or Grafana notification's labels and
// annotations describe: `alertname`; the host from `instance` (without a
// port) or else the host a description names; `application`/`service` as
// its subject (shown, not matched on: MatchEntry takes the name and the
// host's roles from the inventory); `environment`,
// `mountpoint`, `device`.
Alert AlertFromLabels(const std::map<std::string, std::string>& labels,
                      const std::map<std::string, std::string>& annotations);

// Which runbook entry answers an alert, chosen by the alert's name and the
// roles the inventory gives its host, never by other words of the alert
// (an alertname "DiskUsageWarning reddit" or "MemoryUsageWarning_operations"
// is a name no entry has, not a role). An entry answers the name of its
// `alert` heading (its first word) and its `alert_names`, exactly; a
// "...Critical" alert also finds a "...Warning" entry when no entry names
// it. An entry is for the hosts with any of its `roles`; one that declares
// neither `roles` nor `alert_names` is for the role its heading names after
// the alert name ("DiskUsageWarning xqwatcher"); one whose heading names
// only the alert, or that declares `alert_names` and no `roles`, is for any
// host. An entry for one of the host's roles wins over one for any host;
// two that are equally good are a tie: `ambiguous`, and no entry is chosen.
struct RunbookMatch {
  // The entry chosen; null when none or several fit.
  const v1::RunbookEntry* entry = nullptr;
  // Several entries fit equally well: `candidates` lists them.
  bool ambiguous = false;
  // When ambiguous, the tied entries; when none fits, the entries that
  // answer the alert's name for other roles. In file order.
  std::vector<const v1::RunbookEntry*> candidates;
};

RunbookMatch MatchEntry(absl::string_view alert_name,
                        const std::vector<std::string>& host_roles,
                        const std::vector<v1::RunbookEntry>& entries);

// Which entry's `alert` or `headings` pasted `text` contains (see
// runbook.proto: a run of words, "<WORD>" for any one word). The longest
// heading found wins; two of one length are a tie (`ambiguous`). For text
// that names no host only: the caller matches a host's alerts with
// MatchEntry, by name and roles.
RunbookMatch MatchHeading(absl::string_view text,
                          const std::vector<v1::RunbookEntry>& entries);

// The entry for an alert read from pasted text (ParseAlerts) on a host the
// inventory gives `host_roles` (none when it names no host of it): by name
// and roles (MatchEntry); when the text names no host at all and that finds
// none, by its words (MatchHeading).
RunbookMatch MatchPastedAlert(const Alert& alert,
                              const std::vector<std::string>& host_roles,
                              const std::vector<v1::RunbookEntry>& entries);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_RUNBOOK_ALERT_TRIAGE_H_
