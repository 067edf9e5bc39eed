// Incident commands: incidents (the open ones), incident show ID, and what
// on-call does with one (incident_response_command.h).

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/host_text.h"
#include "common/json.h"
#include "controller/commands/audit_query.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/commands/incident_response_command.h"
#include "controller/exit_codes.h"
#include "controller/output/markdown.h"
#include "controller/output/table.h"
#include "controller/output/timestamps.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace opsagent {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(30);
// An incident's links shown, however many alerts carry others.
constexpr size_t kMaxLinksShown = 12;

// Incidents live on the controller: there is no local copy to fall back on.
absl::StatusOr<ControllerClient*> IncidentController(Invocation& invocation) {
  if (!invocation.via_controller()) {
    return absl::FailedPreconditionError(
        "incidents are kept by the controller (opsctld's alert intake); "
        "there is none with --direct or without `controller` in the "
        "operator config");
  }
  return invocation.controller();
}

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

int RunIncidents(Invocation& invocation, const ParsedArgs& args) {
  absl::StatusOr<ControllerClient*> controller = IncidentController(invocation);
  if (!controller.ok())
    return CommandFailed(invocation, kExitUsage,
                         std::string(controller.status().message()));
  v1::ListIncidentsRequest request;
  request.set_include_resolved(args.Has("all"));
  request.set_after(args.Get("after"));
  absl::StatusOr<v1::ListIncidentsReply> reply =
      (*controller)
          ->Call(&ControllerStub::ListIncidents, request,
                 invocation.CallTimeout(kTimeout));
  if (!reply.ok())
    return CommandFailed(invocation, ExitCodeForControllerError(reply.status()),
                         std::string(reply.status().message()));
  if (invocation.output() == OutputFormat::kJson) {
    std::fprintf(invocation.out(), "%s\n", ProtoToJson(*reply).c_str());
    return kExitOk;
  }
  TextTable table({"ID", "ALERT", "HOST", "ENTRY", "AGE", "STATUS", "OWNER",
                   "LAST ACTION", "DIAGNOSIS"});
  for (const v1::Incident& incident : reply->incidents()) {
    table.AddRow(
        {incident.id(), TerminalSafe(incident.alertname()),
         TerminalSafe(incident.host()) +
             (incident.host_known() ? "" : " (unknown host)"),
         incident.entry().empty() ? "(none)" : incident.entry(), Age(incident),
         incident.status(),
         incident.owner().empty() ? "-" : TerminalSafe(incident.owner()),
         LastHumanAction(incident), DiagnosisText(incident.diagnosis())});
  }
  if (reply->incidents().empty()) {
    std::fprintf(invocation.out(),
                 args.Has("all") ? "no incidents\n" : "no open incidents\n");
    return kExitOk;
  }
  std::fprintf(invocation.out(), "%s", table.Render().c_str());
  if (!reply->next_cursor().empty())
    std::fprintf(invocation.out(), "%llu more, use --after %s\n",
                 static_cast<unsigned long long>(reply->remaining()),
                 reply->next_cursor().c_str());
  return kExitOk;
}

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

// One line of an incident's timeline.
struct TimelineEvent {
  int64_t at_ms = 0;
  std::string text;
};

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
  // Each link once, in the order the alerts gave them.
  std::vector<std::pair<std::string, std::string>> links;
  for (const v1::IncidentAlert& alert : incident.alerts()) {
    for (auto [name, url] : {std::pair{"graph", &alert.generator_url()},
                             {"source", &alert.external_url()},
                             {"dashboard", &alert.dashboard_url()},
                             {"panel", &alert.panel_url()},
                             {"new silence", &alert.silence_url()}}) {
      const std::pair<std::string, std::string> link = {name, *url};
      if (!url->empty() &&
          std::find(links.begin(), links.end(), link) == links.end() &&
          links.size() < kMaxLinksShown)
        links.push_back(link);
    }
  }
  for (const auto& [name, url] : links)
    facts.push_back({absl::StrCat("link: ", name), url});
  return facts;
}

std::string Cell(absl::string_view text) {
  return MarkdownText(text, MarkdownPlace::kTableCell);
}

// An event's first line, and the lines after it (a command's output tail),
// shown apart: indented under the event, never as an event of their own.
std::pair<absl::string_view, absl::string_view> FirstLineAndRest(
    absl::string_view text) {
  const size_t end = text.find('\n');
  if (end == absl::string_view::npos) return {text, ""};
  return {text.substr(0, end), text.substr(end + 1)};
}

// The timeline is a list, not a table: an event with several lines keeps
// them (in a block under it), and the list reads as plain text too.
void PrintMarkdown(FILE* out, const v1::Incident& incident,
                   const std::vector<TimelineEvent>& timeline) {
  std::fprintf(out, "# %s\n\n| | |\n|---|---|\n",
               MarkdownText(Headline(incident), MarkdownPlace::kLine).c_str());
  for (const auto& [name, value] : Facts(incident)) {
    // A link as an autolink, whole: the opsctld kept it only as an http(s)
    // URL without spaces or angle brackets (alert_links.h); a "|" would end
    // the table's cell, and is the same URL percent-encoded.
    const std::string shown =
        absl::StartsWith(name, "link: ")
            ? absl::StrCat("<", absl::StrReplaceAll(value, {{"|", "%7C"}}), ">")
            : Cell(value);
    std::fprintf(out, "| %s | %s |\n", name.c_str(), shown.c_str());
  }
  std::fprintf(out, "\n## Timeline (UTC)\n\n");
  for (const TimelineEvent& event : timeline) {
    const auto [first, rest] = FirstLineAndRest(event.text);
    std::fprintf(out, "- %s %s\n", Rfc3339Millis(event.at_ms).c_str(),
                 MarkdownText(first, MarkdownPlace::kLine).c_str());
    if (!rest.empty())
      std::fprintf(out, "\n%s\n", FencedBlock(rest, "  ").c_str());
  }
  const std::string& output = incident.diagnosis().output();
  if (!output.empty())
    std::fprintf(out, "\n## Automatic diagnosis\n\n%s",
                 FencedBlock(output, "").c_str());
}

void PrintText(FILE* out, const v1::Incident& incident,
               const std::vector<TimelineEvent>& timeline) {
  std::fprintf(out, "%s\n", TerminalSafe(Headline(incident)).c_str());
  for (const auto& [name, value] : Facts(incident))
    std::fprintf(out, "  %-14s %s\n", name.c_str(),
                 TerminalSafe(value).c_str());
  std::fprintf(out, "\nTimeline (UTC)\n");
  for (const TimelineEvent& event : timeline) {
    const std::string at = Rfc3339Millis(event.at_ms);
    const auto [first, rest] = FirstLineAndRest(event.text);
    std::fprintf(out, "  %s  %s\n", at.c_str(), TerminalSafe(first).c_str());
    if (!rest.empty()) {
      std::fprintf(out, "%s",
                   Indented(TerminalSafe(absl::StripSuffix(rest, "\n"),
                                         LineBreaks::kKeep),
                            std::string(at.size() + 6, ' '))
                       .c_str());
    }
  }
  const std::string& output = incident.diagnosis().output();
  if (!output.empty()) {
    std::fprintf(out, "\nAutomatic diagnosis:\n%s",
                 TerminalSafe(output, LineBreaks::kKeep).c_str());
    if (!absl::EndsWith(output, "\n")) std::fprintf(out, "\n");
  }
}

// The incident with all the alerts it shows, page by page (each reply is
// bounded in bytes; an incident shows at most its first and newest 100).
absl::StatusOr<v1::Incident> GetWholeIncident(ControllerClient& controller,
                                              const std::string& id,
                                              Invocation& invocation) {
  v1::GetIncidentRequest request;
  request.set_id(id);
  absl::StatusOr<v1::Incident> incident = controller.Call(
      &ControllerStub::GetIncident, request, invocation.CallTimeout(kTimeout));
  if (!incident.ok()) return incident.status();
  for (int page = 0; !incident->alerts_next_cursor().empty(); ++page) {
    if (page == 1000)
      return absl::DataLossError(
          absl::StrCat(id, ": its alerts did not end after 1,000 pages"));
    request.set_alerts_after(incident->alerts_next_cursor());
    absl::StatusOr<v1::Incident> next =
        controller.Call(&ControllerStub::GetIncident, request,
                        invocation.CallTimeout(kTimeout));
    if (!next.ok()) return next.status();
    for (v1::IncidentAlert& alert : *next->mutable_alerts())
      *incident->add_alerts() = std::move(alert);
    incident->set_alerts_next_cursor(next->alerts_next_cursor());
  }
  return incident;
}

int RunIncident(Invocation& invocation, const ParsedArgs& args) {
  if (IsIncidentResponse(args.positional()[0]))
    return RunIncidentResponse(invocation, args);
  if (args.positional()[0] != "show" || args.positional().size() != 2)
    return CommandFailed(
        invocation, kExitUsage,
        "usage: opsctl incident show|ack|note|resolve|reopen|silence|"
        "unsilence ID ... (opsctl incident --help)");
  if (args.Has("for"))
    return CommandFailed(invocation, kExitUsage, "only silence takes --for");
  absl::StatusOr<ControllerClient*> controller = IncidentController(invocation);
  if (!controller.ok())
    return CommandFailed(invocation, kExitUsage,
                         std::string(controller.status().message()));
  absl::StatusOr<v1::Incident> incident =
      GetWholeIncident(**controller, args.positional()[1], invocation);
  if (!incident.ok()) {
    return CommandFailed(invocation,
                         ExitCodeForControllerError(incident.status()),
                         std::string(incident.status().message()));
  }
  v1::AuditQuery filter;
  filter.set_incident(incident->id());
  filter.set_limit(10000);
  absl::StatusOr<std::vector<v1::AuditEntry>> actions =
      FleetOf(invocation)->QueryAudit(filter, /*without_results=*/true);
  if (!actions.ok())
    return CommandFailed(
        invocation, kExitAuditUnavailable,
        absl::StrCat("the incident's actions: ", actions.status().message()));
  std::sort(actions->begin(), actions->end(),
            [](const v1::AuditEntry& a, const v1::AuditEntry& b) {
              return a.id() < b.id();
            });
  if (invocation.output() == OutputFormat::kJson) {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const v1::AuditEntry& record : *actions)
      rows.push_back(AuditRowJson(record));
    std::fprintf(invocation.out(), "%s\n",
                 DumpJson({{"incident", EmbeddedJson(ProtoToJson(*incident))},
                           {"actions", std::move(rows)}})
                     .c_str());
    return kExitOk;
  }
  const std::vector<TimelineEvent> timeline = Timeline(*incident, *actions);
  if (invocation.output() == OutputFormat::kMarkdown) {
    PrintMarkdown(invocation.out(), *incident, timeline);
  } else {
    PrintText(invocation.out(), *incident, timeline);
  }
  return kExitOk;
}

}  // namespace

namespace {

std::vector<Command> IncidentCommands() {
  return {
      {"incidents",
       "",
       "open incidents that alerts opened, with their diagnosis state",
       "Lists the incidents opsctld opened from Alertmanager and Grafana "
       "webhooks: one\n"
       "per host and runbook entry, with its age, its owner (who "
       "acknowledged it), how\n"
       "long since a person last did something with it, and whether the "
       "automatic diagnosis\n"
       "is ready. --all adds resolved ones. --output json for scripts.\n"
       "One page at a time (100, newest first): when more exist it says how "
       "many and\n"
       "the cursor to pass as --after (next_cursor and remaining in JSON).\n\n"
       "Examples:\n"
       "  opsctl incidents\n"
       "  opsctl incidents --all --output json\n"
       "  opsctl incidents --all --after INC-101\n",
       {{"all", "", "resolved incidents too, newest first"},
        {"after", "CURSOR", "the page after this cursor (from the last page)"}},
       0,
       0,
       RunIncidents},
      {"incident",
       "show|ack|note|resolve|reopen|silence|unsilence ID ...",
       "an incident's timeline; acknowledge, note, resolve, silence it",
       "Shows an incident opened by an alert: when it fired and resolved, the "
       "automatic\n"
       "diagnosis with its output (df, du top, memory top), and every action "
       "taken with\n"
       "--incident ID or by `runbook run` for it: who, what, with what "
       "outcome, from the\n"
       "team's audit log. --output markdown prints it ready to paste into a "
       "postmortem;\n"
       "--output json prints the incident and its audit rows.\n\n"
       "What on-call does with it goes through the controller into the "
       "team's log, as a\n"
       "row under the incident's id (permission \"respond\"):\n"
       "  ack ID                  take it: you become its owner\n"
       "  note ID TEXT...         add a note to its timeline\n"
       "  resolve ID --reason R   close it, whatever its alerts say\n"
       "  reopen ID --reason R    open a resolved one again\n"
       "  silence ID --for 2h --reason R\n"
       "                          silence its firing alerts in Alertmanager: "
       "one silence\n"
       "                          per alert name and instance, exact, never "
       "wider\n"
       "  unsilence ID [SILENCE]  expire its silences (or the one named) "
       "now\n\n"
       "Examples:\n"
       "  opsctl incident show INC-7\n"
       "  opsctl incident show INC-7 --output markdown > inc-7.md\n"
       "  opsctl incident ack INC-7\n"
       "  opsctl incident note INC-7 freed 8G from xqueue.log, watching\n"
       "  opsctl incident silence INC-7 --for 2h --reason \"disk grows while "
       "we move logs\"\n"
       "  opsctl incident resolve INC-7 --reason \"fixed by hand; alert "
       "rule too slow\"\n",
       {{"for", "DURATION", "how long a silence lasts (1m to 168h)"}},
       2,
       64,
       RunIncident},
  };
}

}  // namespace

OPSCTL_COMMANDS(kIncidents, IncidentCommands);

}  // namespace opsagent
