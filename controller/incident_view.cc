#include "controller/incident_view.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "controller/alerts/alert_links.h"
#include "controller/audit/audit_record.h"
#include "controller/output/timestamps.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace opsagent {
namespace {

// The alert's own name, from its labels: an incident gathers the alerts of
// one host and runbook entry, which may carry several names. The incident's
// name when the labels hold none.
std::string AlertName(const v1::Incident& incident,
                      const v1::IncidentAlert& alert) {
  google::protobuf::Struct labels;
  if (google::protobuf::util::JsonStringToMessage(alert.labels_json(), &labels)
          .ok()) {
    const auto name = labels.fields().find("alertname");
    if (name != labels.fields().end() && !name->second.string_value().empty())
      return name->second.string_value();
  }
  return incident.alertname();
}

}  // namespace

std::string DiagnosisText(const v1::IncidentDiagnosis& diagnosis) {
  const std::string& state = diagnosis.state();
  if (state == "done") return "ready";
  if (state == "failed")
    return absl::StrCat("failed (exit ", diagnosis.exit_code(), ")");
  if (state == "none") return "none (no automatic steps)";
  if (state == "ambiguous")
    return "not run: several runbook entries fit the alert and the host's "
           "roles equally (see runbook entry)";
  return state;
}

std::string Age(const v1::Incident& incident) {
  const int64_t end = incident.status() == "resolved"
                          ? incident.resolved_at_ms()
                          : absl::ToUnixMillis(absl::Now());
  return ShortDuration(absl::Milliseconds(end - incident.opened_at_ms()));
}

// "12m ago": how long since a person last did something with it; "-"
// when nobody has.
std::string LastHumanAction(const v1::Incident& incident) {
  if (incident.last_human_action_ms() == 0) return "-";
  return absl::StrCat(
      ShortDuration(absl::Now() -
                    absl::FromUnixMillis(incident.last_human_action_ms())),
      " ago");
}

std::vector<TimelineEvent> Timeline(
    const v1::Incident& incident, const std::vector<v1::AuditEntry>& actions) {
  std::vector<TimelineEvent> events;
  const std::string host =
      incident.host().empty() ? "(no host)" : incident.host();
  for (const v1::IncidentAlert& alert : incident.alerts()) {
    const std::string named =
        absl::StrCat(AlertName(incident, alert), " on ", host);
    events.push_back(
        {alert.starts_at_ms(),
         absl::StrCat("alert fired: ", named, " (", alert.source(),
                      " from sender ", alert.sender(), ", fingerprint ",
                      alert.fingerprint(),
                      alert.text_cut() ? ", its text cut" : "", ")")});
    if (alert.status() == "resolved")
      events.push_back(
          {alert.ends_at_ms(),
           absl::StrCat("alert resolved: ", named, " (fingerprint ",
                        alert.fingerprint(), ")")});
  }
  const v1::IncidentDiagnosis& diagnosis = incident.diagnosis();
  if (diagnosis.started_at_ms() > 0)
    events.push_back(
        {diagnosis.started_at_ms(),
         absl::StrCat("automatic diagnosis started",
                      diagnosis.run_id().empty()
                          ? ""
                          : absl::StrCat(" (run ", diagnosis.run_id(), ")"))});
  if (diagnosis.finished_at_ms() > 0)
    events.push_back(
        {diagnosis.finished_at_ms(),
         absl::StrCat("automatic diagnosis ", DiagnosisText(diagnosis))});
  for (const v1::AuditEntry& record : actions) {
    const v1::AuditIntent& intent = record.intent();
    std::string text = absl::StrCat(
        OperatorLabel(intent), ": ", intent.operation(), " on ", intent.host(),
        intent.parameters_json().empty() || intent.parameters_json() == "{}"
            ? ""
            : absl::StrCat(" ", intent.parameters_json()),
        intent.dry_run() ? " (dry run)" : "", " -> ",
        OutcomeName(record.outcome()));
    if (record.has_result() && !record.result().summary().empty())
      absl::StrAppend(&text, ": ", record.result().summary());
    else if (record.has_result() && !record.result().message().empty())
      absl::StrAppend(&text, ": ", record.result().message());
    if (!intent.reason().empty())
      absl::StrAppend(&text, " (reason: ", intent.reason(), ")");
    events.push_back({intent.started_at_ms(), std::move(text)});
  }
  if (incident.status() == "resolved")
    events.push_back({incident.resolved_at_ms(), "incident resolved"});
  std::stable_sort(events.begin(), events.end(),
                   [](const TimelineEvent& a, const TimelineEvent& b) {
                     return a.at_ms < b.at_ms;
                   });
  return events;
}

std::string Headline(const v1::Incident& incident) {
  return absl::StrCat(incident.id(), ": ", incident.alertname(), " on ",
                      incident.host().empty() ? "(no host)" : incident.host());
}

std::vector<std::pair<std::string, std::string>> Facts(
    const v1::Incident& incident) {
  std::vector<std::pair<std::string, std::string>> facts = {
      {"status",
       absl::StrCat(incident.status(), ", ",
                    incident.status() == "resolved" ? "lasted " : "open for ",
                    Age(incident))},
      {"opened", Rfc3339Millis(incident.opened_at_ms())},
      {"host",
       absl::StrCat(incident.host(),
                    incident.host_known() ? "" : " (not in the inventory)")},
      {"runbook entry",
       incident.entry().empty()
           ? (incident.diagnosis().state() == "ambiguous"
                  ? absl::StrCat(
                        "ambiguous, each fits equally: ",
                        absl::StrJoin(incident.nearest_entries(), ", "))
                  : absl::StrCat(
                        "none matched",
                        incident.nearest_entries().empty()
                            ? ""
                            : absl::StrCat(
                                  "; nearest: ",
                                  absl::StrJoin(incident.nearest_entries(),
                                                ", "))))
           : incident.entry()}};
  for (auto [name, value] : {std::pair{"mountpoint", &incident.mountpoint()},
                             {"device", &incident.device()},
                             {"environment", &incident.environment()},
                             {"summary", &incident.summary()}}) {
    if (!value->empty()) facts.push_back({name, *value});
  }
  if (incident.alerts_folded() > 0)
    facts.push_back(
        {"alerts",
         absl::StrCat(incident.alerts_size(), " shown, ",
                      incident.alerts_folded(),
                      " more folded (an incident shows its first and newest "
                      "alerts)")});
  if (!incident.owner().empty())
    facts.push_back(
        {"owner",
         absl::StrCat(incident.owner(), " (since ",
                      Rfc3339Millis(incident.acknowledged_at_ms()), ")")});
  if (!incident.resolved_by().empty())
    facts.push_back({"resolved by", incident.resolved_by()});
  facts.push_back({"diagnosis", DiagnosisText(incident.diagnosis())});
  for (const v1::IncidentSilence& silence : incident.silences()) {
    facts.push_back(
        {"silence",
         absl::StrCat(
             silence.id(), " ", silence.matchers(), " by ",
             silence.created_by(),
             silence.expired_at_ms() != 0
                 ? absl::StrCat(", expired ",
                                Rfc3339Millis(silence.expired_at_ms()))
                 : absl::StrCat(" until ",
                                Rfc3339Millis(silence.ends_at_ms())))});
  }
  return facts;
}

std::vector<IncidentLink> IncidentLinks(const v1::Incident& incident) {
  std::vector<IncidentLink> links;
  for (const v1::IncidentAlert& alert : incident.alerts()) {
    for (auto [name, url] : {std::pair{"graph", &alert.generator_url()},
                             {"source", &alert.external_url()},
                             {"dashboard", &alert.dashboard_url()},
                             {"panel", &alert.panel_url()},
                             {"new silence", &alert.silence_url()}}) {
      if (links.size() == kMaxLinksShown) continue;
      // Checked again here: what shows it may have it from a controller
      // that did not check it (an older one, or a hostile one).
      bool refused = false;
      const std::string safe = SafeLink(*url, refused);
      if (safe.empty()) continue;
      if (std::none_of(links.begin(), links.end(), [&](const IncidentLink& l) {
            return l.name == name && l.url == safe;
          }))
        links.push_back({name, safe});
    }
  }
  return links;
}

}  // namespace opsagent
