#include "controller/chat/chat_message.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/host_text.h"
#include "common/utf8.h"
#include "controller/incident_view.h"
#include "nlohmann/json.hpp"

namespace opsagent {
namespace {

std::string Json(const nlohmann::ordered_json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Rfc3339(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

}  // namespace

absl::string_view IncidentEventName(IncidentEvent event) {
  switch (event) {
    case IncidentEvent::kOpened:
      return "opened";
    case IncidentEvent::kDiagnosed:
      return "diagnosed";
    case IncidentEvent::kAcknowledged:
      return "acknowledged";
    case IncidentEvent::kResolved:
      return "resolved";
    case IncidentEvent::kReopened:
      return "reopened";
  }
  return "changed";
}

std::string SlackQuoted(absl::string_view text, size_t max_bytes) {
  // What would reorder or hide the rest shows as an escape ("\u202e").
  const std::string shown = TerminalSafe(text, LineBreaks::kKeep);
  absl::string_view kept = Utf8Prefix(shown, max_bytes);
  std::string out = "`";
  for (char c : kept) {
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
      case '`':
        out += '\'';  // would end the code span
        break;
      case '\n':
      case '\r':
      case '\t':
        out += ' ';
        break;
      default:
        // Other control characters show as nothing useful.
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
    }
  }
  if (kept.size() < shown.size()) out += "...";
  if (out.size() == 1) out += ' ';  // `` is no code span
  out += '`';
  return out;
}

std::string SlackMessage(const ChatMessageFacts& facts) {
  const v1::Incident& incident = facts.incident;
  static constexpr absl::string_view kMarks[] = {
      ":rotating_light:", ":mag:", ":eyes:", ":white_check_mark:", ":repeat:"};
  std::string text = absl::StrCat(
      kMarks[static_cast<int>(facts.event)], " *", incident.id(), " ",
      IncidentEventName(facts.event), "*: ", SlackQuoted(incident.alertname()),
      " on ",
      SlackQuoted(incident.host().empty() ? "(no host)" : incident.host()));
  if (!incident.entry().empty())
    absl::StrAppend(&text, " (runbook ", SlackQuoted(incident.entry()), ")");
  if (!incident.summary().empty())
    absl::StrAppend(&text, "\n>", SlackQuoted(incident.summary()));
  if (facts.event == IncidentEvent::kDiagnosed ||
      !facts.diagnosis_headline.empty()) {
    absl::StrAppend(&text, "\nDiagnosis: ",
                    SlackQuoted(DiagnosisText(incident.diagnosis())));
    for (const std::string& line : facts.diagnosis_headline)
      absl::StrAppend(&text, "\n• ", SlackQuoted(line));
  }
  if (!incident.owner().empty())
    absl::StrAppend(&text, "\nOwner: ", SlackQuoted(incident.owner()));
  if (facts.event == IncidentEvent::kResolved)
    absl::StrAppend(
        &text, "\nResolved ",
        incident.resolved_by().empty()
            ? std::string("by its alerts")
            : absl::StrCat("by ", SlackQuoted(incident.resolved_by())),
        " after ", Age(incident));
  // Ours: the page's URL is https://, a host and a path with a token of
  // digits, a dot and hex, with no "|" or ">" to end the link early.
  if (!facts.page_url.empty())
    absl::StrAppend(&text, "\n<", facts.page_url, "|Open ", incident.id(), ">");
  return Json(
      {{"text", text}, {"unfurl_links", false}, {"unfurl_media", false}});
}

std::string WebhookMessage(const ChatMessageFacts& facts) {
  const v1::Incident& incident = facts.incident;
  nlohmann::ordered_json headline = nlohmann::ordered_json::array();
  for (const std::string& line : facts.diagnosis_headline)
    headline.push_back(line);
  return Json({{"event", std::string(IncidentEventName(facts.event))},
               {"incident",
                {{"id", incident.id()},
                 {"title", Headline(incident)},
                 {"alertname", incident.alertname()},
                 {"host", incident.host()},
                 {"entry", incident.entry()},
                 {"status", incident.status()},
                 {"summary", incident.summary()},
                 {"opened_at", Rfc3339(incident.opened_at_ms())},
                 {"owner", incident.owner()},
                 {"resolved_by", incident.resolved_by()},
                 {"diagnosis", incident.diagnosis().state()},
                 {"diagnosis_headline", headline},
                 {"url", facts.page_url}}}});
}

}  // namespace opsagent
