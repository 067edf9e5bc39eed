#include "controller/pages/incident_page.h"

#include "absl/strings/str_cat.h"
#include "common/host_text.h"
#include "controller/incident_view.h"

namespace opsagent {
namespace {

// A value from an alert, a host or an operator: characters that reorder
// or hide what follows them shown as escapes ("\u202e"), then HTML-escaped.
std::string Text(absl::string_view text) {
  return HtmlEscape(TerminalSafe(text, LineBreaks::kKeep));
}

std::string Time(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

std::string Head(absl::string_view title) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\">"
      "<meta name=\"referrer\" content=\"no-referrer\">"
      "<link rel=\"stylesheet\" href=\"/page.css\"><title>",
      Text(title), "</title></head><body>\n");
}

std::string Foot(absl::Time expires) {
  return absl::StrCat(
      "<footer>Read-only view from opsctld; this link works until ",
      HtmlEscape(
          absl::FormatTime("%Y-%m-%d %H:%M UTC", expires, absl::UTCTimeZone())),
      ". Act with opsctl.</footer>\n</body></html>\n");
}

// A link IncidentLinks kept (an http(s) URL, checked whoever sent it).
std::string Anchor(const std::string& url) {
  return absl::StrCat("<a href=\"", HtmlEscape(url),
                      "\" rel=\"noopener noreferrer nofollow\">",
                      HtmlEscape(url), "</a>");
}

}  // namespace

const char kPageStylesheet[] =
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:70em;"
    "padding:0 1em;color:#1d1d1f}\n"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}\n"
    "table{border-collapse:collapse}td,th{padding:.25em .75em .25em 0;"
    "text-align:left;vertical-align:top}\n"
    "th{color:#555;font-weight:600;white-space:nowrap}\n"
    ".status-open{color:#b00020;font-weight:600}"
    ".status-resolved{color:#1b5e20;font-weight:600}\n"
    "ol.timeline{list-style:none;padding:0}ol.timeline li{margin:.3em 0}\n"
    "td,li{overflow-wrap:anywhere}\n"
    "time{color:#555;font-variant-numeric:tabular-nums;margin-right:.75em}\n"
    "pre{background:#f4f4f4;padding:.75em;overflow-wrap:anywhere;"
    "white-space:pre-wrap}\n"
    "footer{margin-top:2em;color:#777;font-size:.85em}\n";

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderIncidentPage(const v1::Incident& incident,
                               const std::vector<v1::AuditEntry>& actions,
                               absl::Time expires,
                               const std::string& list_path) {
  std::string page = Head(Headline(incident));
  if (!list_path.empty())
    absl::StrAppend(&page, "<nav><a href=\"", Text(list_path),
                    "\">All incidents</a></nav>\n");
  absl::StrAppend(&page, "<h1>", Text(Headline(incident)),
                  " <span class=\"status-", Text(incident.status()), "\">",
                  Text(incident.status()), "</span></h1>\n<table>");
  for (const auto& [name, value] : Facts(incident))
    absl::StrAppend(&page, "<tr><th>", Text(name), "</th><td>", Text(value),
                    "</td></tr>\n");
  for (const IncidentLink& link : IncidentLinks(incident))
    absl::StrAppend(&page, "<tr><th>", Text(link.name), "</th><td>",
                    Anchor(link.url), "</td></tr>\n");
  absl::StrAppend(&page,
                  "</table>\n<h2>Timeline</h2>\n<ol class=\"timeline\">");
  for (const TimelineEvent& event : Timeline(incident, actions)) {
    const size_t newline = event.text.find('\n');
    absl::StrAppend(&page, "<li><time>", Text(Time(event.at_ms)), "</time>",
                    Text(event.text.substr(0, newline)));
    if (newline != std::string::npos)
      absl::StrAppend(&page, "<pre>", Text(event.text.substr(newline + 1)),
                      "</pre>");
    absl::StrAppend(&page, "</li>\n");
  }
  absl::StrAppend(&page, "</ol>\n");
  if (!incident.diagnosis().output().empty())
    absl::StrAppend(&page, "<h2>Automatic diagnosis</h2>\n<pre>",
                    Text(incident.diagnosis().output()), "</pre>\n");
  absl::StrAppend(&page, Foot(expires));
  return page;
}

std::string RenderIncidentList(
    const std::vector<v1::Incident>& incidents, absl::Time expires,
    const std::function<std::string(const std::string& id)>& path_of) {
  std::string page = Head("Incidents");
  absl::StrAppend(&page,
                  "<h1>Incidents</h1>\n<table><tr><th>Id</th><th>Alert</th>"
                  "<th>Host</th><th>Opened</th><th>Status</th><th>Owner</th>"
                  "<th>Diagnosis</th></tr>\n");
  for (const v1::Incident& incident : incidents) {
    absl::StrAppend(
        &page, "<tr><td><a href=\"", Text(path_of(incident.id())), "\">",
        Text(incident.id()), "</a></td><td>", Text(incident.alertname()),
        "</td><td>", Text(incident.host()), "</td><td>",
        Text(Time(incident.opened_at_ms())), "</td><td class=\"status-",
        Text(incident.status()), "\">", Text(incident.status()), "</td><td>",
        Text(incident.owner().empty() ? "-" : incident.owner()), "</td><td>",
        Text(DiagnosisText(incident.diagnosis())), "</td></tr>\n");
  }
  if (incidents.empty())
    absl::StrAppend(&page, "<tr><td colspan=\"7\">No incidents.</td></tr>\n");
  absl::StrAppend(&page, "</table>\n", Foot(expires));
  return page;
}

std::string RenderRefusal(absl::string_view why) {
  return absl::StrCat(Head("Not shown"), "<h1>Not shown</h1>\n<p>", Text(why),
                      "</p>\n</body></html>\n");
}

}  // namespace opsagent
