// Incident commands: incidents (the open ones), incident show ID, and what
// on-call does with one (incident_response_command.h).

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/host_text.h"
#include "common/json.h"
#include "controller/commands/audit_query.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/commands/incident_response_command.h"
#include "controller/exit_codes.h"
#include "controller/incident_view.h"
#include "controller/output/markdown.h"
#include "controller/output/table.h"
#include "controller/output/timestamps.h"

namespace opsagent {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(30);

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

int PrintPageLink(Invocation& invocation, const std::string& incident,
                  const ParsedArgs& args);

int RunIncidents(Invocation& invocation, const ParsedArgs& args) {
  if (args.Has("link")) return PrintPageLink(invocation, "", args);
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
  for (const auto& [name, value] : Facts(incident))
    std::fprintf(out, "| %s | %s |\n", name.c_str(), Cell(value).c_str());
  // A link as an autolink, whole: opsctld kept it only as an http(s) URL
  // without spaces or angle brackets (alert_links.h); a "|" would end the
  // table's cell, and is the same URL percent-encoded.
  for (const IncidentLink& link : IncidentLinks(incident))
    std::fprintf(out, "| link: %s | <%s> |\n", link.name.c_str(),
                 absl::StrReplaceAll(link.url, {{"|", "%7C"}}).c_str());
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
  for (const IncidentLink& link : IncidentLinks(incident))
    std::fprintf(out, "  %-14s %s\n", absl::StrCat("link: ", link.name).c_str(),
                 TerminalSafe(link.url).c_str());
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

// `opsctl incident link ID [--for D]` and `opsctl incidents --link`: a
// signed link to the read-only page, to paste where the team talks.
int PrintPageLink(Invocation& invocation, const std::string& incident,
                  const ParsedArgs& args) {
  if (invocation.output() == OutputFormat::kMarkdown)
    return CommandFailed(invocation, kExitUsage,
                         "--output markdown is for incident show");
  absl::StatusOr<ControllerClient*> controller = IncidentController(invocation);
  if (!controller.ok())
    return CommandFailed(invocation, kExitUsage,
                         std::string(controller.status().message()));
  v1::IncidentPageLinkRequest request;
  request.set_incident(incident);
  if (args.Has("for")) {
    absl::Duration life;
    if (!absl::ParseDuration(args.Get("for"), &life) ||
        life < absl::Minutes(1) || life > absl::Hours(168))
      return CommandFailed(invocation, kExitUsage,
                           "--for takes a duration from 1m to 168h (24h)");
    request.set_valid_seconds(
        static_cast<uint32_t>(absl::ToInt64Seconds(life)));
  }
  absl::StatusOr<v1::IncidentPageLink> link =
      (*controller)
          ->Call(&ControllerStub::LinkIncidentPage, request,
                 invocation.CallTimeout(kTimeout));
  if (!link.ok())
    return CommandFailed(invocation, ExitCodeForControllerError(link.status()),
                         std::string(link.status().message()));
  if (invocation.output() == OutputFormat::kJson) {
    std::fprintf(invocation.out(), "%s\n", ProtoToJson(*link).c_str());
    return kExitOk;
  }
  std::fprintf(invocation.out(), "%s\n(read-only; works until %s)\n",
               link->url().c_str(),
               Rfc3339Millis(link->expires_at_ms()).c_str());
  return kExitOk;
}

int RunIncident(Invocation& invocation, const ParsedArgs& args) {
  if (IsIncidentResponse(args.positional()[0]))
    return RunIncidentResponse(invocation, args);
  if (args.positional()[0] == "link") {
    if (args.positional().size() != 2)
      return CommandFailed(invocation, kExitUsage,
                           "usage: opsctl incident link ID [--for 24h]");
    return PrintPageLink(invocation, args.positional()[1], args);
  }
  if (args.positional()[0] != "show" || args.positional().size() != 2)
    return CommandFailed(
        invocation, kExitUsage,
        "usage: opsctl incident show|ack|note|resolve|reopen|silence|"
        "unsilence ID ... (opsctl incident --help)");
  if (args.Has("for"))
    return CommandFailed(invocation, kExitUsage,
                         "only silence and link take --for");
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
        {"after", "CURSOR", "the page after this cursor (from the last page)"},
        {"link", "", "print a signed link to the list's read-only page"},
        {"for", "DURATION", "how long that link works (default 24h)"}},
       0,
       0,
       RunIncidents},
      {"incident",
       "show|link|ack|note|resolve|reopen|silence|unsilence ID ...",
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
       "now\n"
       "  link ID [--for 24h]     a signed link to its read-only page "
       "(opsctld's pages),\n"
       "                          for a chat or a ticket\n\n"
       "Examples:\n"
       "  opsctl incident show INC-7\n"
       "  opsctl incident show INC-7 --output markdown > inc-7.md\n"
       "  opsctl incident ack INC-7\n"
       "  opsctl incident note INC-7 freed 8G from xqueue.log, watching\n"
       "  opsctl incident silence INC-7 --for 2h --reason \"disk grows while "
       "we move logs\"\n"
       "  opsctl incident resolve INC-7 --reason \"fixed by hand; alert "
       "rule too slow\"\n",
       {{"for", "DURATION",
         "how long a silence lasts, or a link works (1m to 168h)"}},
       2,
       64,
       RunIncident,
       {OutputFormat::kTable, OutputFormat::kJson, OutputFormat::kMarkdown}},
  };
}

}  // namespace

OPSCTL_COMMANDS(kIncidents, IncidentCommands);

}  // namespace opsagent
