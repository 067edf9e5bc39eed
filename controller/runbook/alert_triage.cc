#include "controller/runbook/alert_triage.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "re2/re2.h"

namespace opsagent {
namespace {

constexpr const char* kEnvironments[] = {"production", "staging", "qa",
                                         "rc",         "ci",      "dev"};

std::vector<std::string> Words(absl::string_view text) {
  std::vector<std::string> words;
  for (absl::string_view word : absl::StrSplit(
           text, absl::ByAnyChar(" \t\n()[]:,-_/"), absl::SkipEmpty())) {
    words.push_back(absl::AsciiStrToLower(word));
  }
  return words;
}

Alert ParseOne(absl::string_view text) {
  Alert alert;
  text = absl::StripAsciiWhitespace(text);
  // "NAME GROUP (SUBJECT more words ..." — the part in parentheses may be cut
  // off.
  std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
  if (!fields.empty()) alert.name = std::string(fields[0]);
  if (fields.size() > 1 && fields[1].front() != '(')
    alert.group = std::string(fields[1]);
  const size_t open = text.find('(');
  if (open != absl::string_view::npos) {
    std::vector<absl::string_view> inside = absl::StrSplit(
        text.substr(open + 1), absl::ByAnyChar(" )\t\n"), absl::SkipEmpty());
    if (!inside.empty()) alert.subject = std::string(inside[0]);
  }
  // The subject names the service ("xqwatcher"), unless it only names the
  // resource the alert is about ("memory"); then the group says more.
  static const std::set<std::string>* const kResourceWords =
      new std::set<std::string>{"memory", "cpu",     "disk", "filesystem",
                                "load",   "network", "swap"};
  const bool generic =
      alert.subject.empty() ||
      kResourceWords->count(absl::AsciiStrToLower(alert.subject)) > 0;
  alert.boiled = generic
                     ? absl::StrCat(alert.name, alert.group.empty() ? "" : " ",
                                    alert.group)
                     : absl::StrCat(alert.name, " ", alert.subject);
  static const re2::RE2* const kHost = new re2::RE2(R"((ip-\d+-\d+-\d+-\d+))");
  std::string host;
  if (re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *kHost,
                             &host))
    alert.host = host;
  for (const std::string& word : Words(alert.group)) {
    for (const char* env : kEnvironments) {
      if (word == env) alert.environment = env;
    }
  }
  alert.tokens = Words(text);
  return alert;
}

}  // namespace

std::vector<Alert> ParseAlerts(absl::string_view text) {
  std::vector<Alert> alerts;
  std::vector<size_t> starts;  // just after each "[FIRING:n]"
  for (size_t at = text.find("[FIRING:"); at != absl::string_view::npos;
       at = text.find("[FIRING:", at + 1)) {
    const size_t close = text.find(']', at);
    if (close == absl::string_view::npos) break;
    starts.push_back(close + 1);
  }
  if (starts.empty()) {
    if (!absl::StripAsciiWhitespace(text).empty())
      alerts.push_back(ParseOne(text));
    return alerts;
  }
  for (size_t i = 0; i < starts.size(); ++i) {
    size_t end = i + 1 < starts.size() ? starts[i + 1] : text.size();
    absl::string_view body = text.substr(starts[i], end - starts[i]);
    // Cut the next alert's "[Prometheus]: [FIRING:n]" prefix off this one.
    if (size_t next = body.find("[FIRING"); next != absl::string_view::npos)
      body = body.substr(0, next);
    if (size_t prom = body.find("[Prometheus]");
        prom != absl::string_view::npos)
      body = body.substr(0, prom);
    alerts.push_back(ParseOne(body));
  }
  return alerts;
}

std::vector<EntryMatch> RankEntries(
    const Alert& alert, const std::vector<v1::RunbookEntry>& entries) {
  const std::set<std::string> have(alert.tokens.begin(), alert.tokens.end());
  std::vector<EntryMatch> ranked;
  for (const v1::RunbookEntry& entry : entries) {
    std::string heading = entry.alert();
    // "<ENVIRONMENT>"-style placeholders stand for anything.
    for (size_t open = heading.find('<'); open != std::string::npos;
         open = heading.find('<')) {
      size_t close = heading.find('>', open);
      if (close == std::string::npos) break;
      heading.erase(open, close - open + 1);
    }
    const std::vector<std::string> want = Words(heading);
    int found = 0;
    for (const std::string& word : want) found += have.count(word);
    ranked.push_back({&entry, want.empty()
                                  ? 0.0
                                  : static_cast<double>(found) / want.size()});
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const EntryMatch& a, const EntryMatch& b) {
                     return a.score > b.score;
                   });
  return ranked;
}

}  // namespace opsagent
