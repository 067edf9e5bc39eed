#ifndef OPSAGENT_CONTROLLER_INCIDENT_VIEW_H_
#define OPSAGENT_CONTROLLER_INCIDENT_VIEW_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// What an incident says to a person, in words, whatever shows it: opsctl's
// table and Markdown (`incident show`), the controller's HTML page and its
// chat messages. Each shower escapes the words for its own medium; nothing
// here is escaped.

// One line of an incident's timeline.
struct TimelineEvent {
  int64_t at_ms = 0;
  std::string text;
};

// Its alerts firing and resolving, its automatic diagnosis, and every row
// of the team's log filed under it (`actions`), oldest first.
std::vector<TimelineEvent> Timeline(const v1::Incident& incident,
                                    const std::vector<v1::AuditEntry>& actions);

// "INC-7: DiskUsageWarning on web-1".
std::string Headline(const v1::Incident& incident);

// Its facts as (name, value) lines: status and age, host, runbook entry,
// mountpoint and the like, owner, diagnosis state, silences.
std::vector<std::pair<std::string, std::string>> Facts(
    const v1::Incident& incident);

// "ready", "failed (exit 2)", "none (no automatic steps)", ...
std::string DiagnosisText(const v1::IncidentDiagnosis& diagnosis);

// How long it has been open (or was, once resolved): "12m".
std::string Age(const v1::Incident& incident);

// "12m ago": since a person last did something with it; "-" when nobody
// has.
std::string LastHumanAction(const v1::Incident& incident);

// A link its alerts carry, if it is one SafeLink keeps (an http(s) URL
// without quotes, angle brackets or spaces), whoever sent the incident.
struct IncidentLink {
  std::string name;  // "graph", "source", "dashboard", "panel", "new silence"
  std::string url;
};
// Each link once, in the order its alerts gave them; at most
// kMaxLinksShown.
inline constexpr size_t kMaxLinksShown = 12;
std::vector<IncidentLink> IncidentLinks(const v1::Incident& incident);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_INCIDENT_VIEW_H_
