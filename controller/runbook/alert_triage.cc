#include "controller/runbook/alert_triage.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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

constexpr char kHostPattern[] = R"((ip-\d+-\d+-\d+-\d+))";
// The team's descriptions: "Filesystem on /dev/root at HOST is 85.02%
// full.", "Memory usage on HOST has been at 0.93 ...".
constexpr char kDescribedHostPattern[] =
    R"(\b(?:at|on) ([A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]) (?:is|has)\b)";

// The host `text` names: an EC2-style name anywhere, else the one the
// team's descriptions name.
std::string HostIn(absl::string_view text) {
  static const re2::RE2* const kHost = new re2::RE2(kHostPattern);
  static const re2::RE2* const kDescribed = new re2::RE2(kDescribedHostPattern);
  const re2::StringPiece piece(text.data(), text.size());
  std::string host;
  if (re2::RE2::PartialMatch(piece, *kHost, &host)) return host;
  re2::RE2::PartialMatch(piece, *kDescribed, &host);
  return host;
}

// "ip-10-7-0-78:9100" -> "ip-10-7-0-78"; an IPv6 address in brackets is
// left alone.
std::string WithoutPort(absl::string_view instance) {
  const size_t colon = instance.rfind(':');
  if (colon != absl::string_view::npos && instance.front() != '[' &&
      instance.find(':') == colon)
    instance = instance.substr(0, colon);
  return std::string(instance);
}

std::string EnvironmentIn(absl::string_view text) {
  for (const std::string& word : Words(text)) {
    for (const char* env : kEnvironments) {
      if (word == env) return env;
    }
  }
  return "";
}

// Grafana's notification lists labels and annotations as " - NAME = VALUE"
// lines, and the team's template adds "Description - TEXT".
std::map<std::string, std::string> ListedFields(absl::string_view text) {
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "- ")) {
      const size_t eq = line.find(" = ");
      if (eq != absl::string_view::npos)
        fields[std::string(absl::StripAsciiWhitespace(line.substr(0, eq)))] =
            std::string(absl::StripAsciiWhitespace(line.substr(eq + 3)));
      continue;
    }
    const size_t dash = line.find(" - ");
    if (dash != absl::string_view::npos && dash > 0 &&
        line.substr(0, dash).find(' ') == absl::string_view::npos)
      fields[absl::AsciiStrToLower(line.substr(0, dash))] =
          std::string(absl::StripAsciiWhitespace(line.substr(dash + 3)));
  }
  return fields;
}

Alert ParseOne(absl::string_view text) {
  Alert alert;
  text = absl::StripAsciiWhitespace(text);
  // Grafana's Slack title: "[FIRING:1] - DiskUsageWarning".
  if (absl::ConsumePrefix(&text, "-"))
    text = absl::StripLeadingAsciiWhitespace(text);
  // "NAME GROUP (SUBJECT more words ...", on the first line; the part in
  // parentheses may be cut off.
  const absl::string_view title = text.substr(0, text.find('\n'));
  std::vector<absl::string_view> fields =
      absl::StrSplit(title, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (!fields.empty()) alert.name = std::string(fields[0]);
  if (fields.size() > 1 && fields[1].front() != '(')
    alert.group = std::string(fields[1]);
  const size_t open = title.find('(');
  if (open != absl::string_view::npos) {
    std::vector<absl::string_view> inside = absl::StrSplit(
        title.substr(open + 1), absl::ByAnyChar(" )\t"), absl::SkipEmpty());
    if (!inside.empty()) alert.subject = std::string(inside[0]);
  }
  const std::map<std::string, std::string> listed = ListedFields(text);
  const auto field = [&listed](const char* name) {
    auto it = listed.find(name);
    return it == listed.end() ? std::string() : it->second;
  };
  if (alert.subject.empty()) alert.subject = field("application");
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
  alert.host =
      field("instance").empty() ? HostIn(text) : WithoutPort(field("instance"));
  alert.environment = field("environment").empty() ? EnvironmentIn(alert.group)
                                                   : field("environment");
  alert.mountpoint = field("mountpoint");
  alert.device = field("device");
  return alert;
}

// The alert name an entry's heading starts with ("DiskUsageWarning"), and
// what follows it without "<PLACEHOLDER>"s ("xqwatcher").
std::pair<std::string, std::string> SplitHeading(const std::string& alert) {
  std::string heading = alert;
  for (size_t open = heading.find('<'); open != std::string::npos;
       open = heading.find('<', open)) {
    const size_t close = heading.find('>', open);
    if (close == std::string::npos) break;
    heading.erase(open, close - open + 1);
  }
  absl::string_view rest = absl::StripAsciiWhitespace(heading);
  const size_t space = rest.find_first_of(" \t");
  if (space == absl::string_view::npos) return {std::string(rest), ""};
  return {std::string(rest.substr(0, space)),
          std::string(absl::StripAsciiWhitespace(rest.substr(space)))};
}

// How well `entry` fits an alert called `name` on a host with `roles`:
// 0 not at all; else 4 for the exact name (2 for the "...Critical" alert's
// "...Warning" name), plus 1 when the entry is for one of the host's roles
// rather than for any host.
int Fit(const v1::RunbookEntry& entry, absl::string_view name,
        const std::vector<std::string>& roles) {
  // Not a structured binding: C++17 lambdas cannot capture one (clang).
  const auto heading = SplitHeading(entry.alert());
  const auto& heading_role = heading.second;
  const auto answers = [&](absl::string_view wanted) {
    if (wanted.empty()) return false;
    if (heading.first == wanted) return true;
    for (const std::string& other : entry.alert_names())
      if (other == wanted) return true;
    return false;
  };
  int fit = 0;
  if (answers(name)) {
    fit = 4;
  } else if (absl::EndsWith(name, "Critical") &&
             answers(
                 absl::StrCat(name.substr(0, name.size() - 8), "Warning"))) {
    fit = 2;
  } else {
    return 0;
  }
  std::vector<std::string> wanted(entry.roles().begin(), entry.roles().end());
  if (wanted.empty() && entry.alert_names().empty() && !heading_role.empty())
    wanted.push_back(heading_role);
  if (wanted.empty()) return fit;  // for any host
  for (const std::string& role : wanted) {
    if (std::find(roles.begin(), roles.end(), role) != roles.end())
      return fit + 1;
  }
  return -fit;  // answers the name, for other roles
}

// A notification's status as senders write it before the alert:
// "[FIRING:2]", "[RESOLVED]", Grafana's "[FIRING:1, RESOLVED:1]".
struct Marker {
  size_t begin = 0;  // at '['
  size_t end = 0;    // just after ']'
  bool resolved = false;
  int count = 0;  // the alerts it announces; 0 when it does not say
};

std::vector<Marker> Markers(absl::string_view text) {
  std::vector<Marker> markers;
  for (size_t at = text.find('['); at != absl::string_view::npos;
       at = text.find('[', at + 1)) {
    const absl::string_view rest = text.substr(at + 1);
    const bool firing = absl::StartsWith(rest, "FIRING");
    if (!firing && !absl::StartsWith(rest, "RESOLVED")) continue;
    const size_t close = text.find(']', at);
    if (close == absl::string_view::npos) break;
    Marker marker;
    marker.begin = at;
    marker.end = close + 1;
    marker.resolved = !firing;
    for (absl::string_view part :
         absl::StrSplit(text.substr(at + 1, close - at - 1), ',')) {
      const size_t colon = part.find(':');
      int n = 0;
      if (colon != absl::string_view::npos &&
          absl::SimpleAtoi(part.substr(colon + 1), &n))
        marker.count += n;
    }
    markers.push_back(marker);
    at = close;
  }
  return markers;
}

// Every host `text` names, in order: EC2-style names and the hosts the
// team's descriptions name.
std::vector<std::string> HostsIn(absl::string_view text) {
  static const re2::RE2* const kHost = new re2::RE2(kHostPattern);
  static const re2::RE2* const kDescribed = new re2::RE2(kDescribedHostPattern);
  std::vector<std::string> hosts;
  const auto add = [&hosts](const std::string& host) {
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end())
      hosts.push_back(host);
  };
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    for (const re2::RE2* pattern : {kHost, kDescribed}) {
      re2::StringPiece rest(line.data(), line.size());
      std::string host;
      while (re2::RE2::FindAndConsume(&rest, *pattern, &host)) add(host);
    }
  }
  return hosts;
}

// One part of a message per alert: Grafana's message gives each alert of a
// group its own "Labels:" list (with its instance and mountpoint) and puts
// resolved ones under "**Resolved**"; other texts are one part.
struct MessagePart {
  absl::string_view text;
  bool resolved = false;
};

std::vector<MessagePart> MessageParts(absl::string_view body, bool resolved) {
  std::vector<MessagePart> parts;
  size_t part_start = 0;
  bool part_resolved = resolved;
  size_t line_start = 0;
  while (line_start <= body.size()) {
    size_t line_end = body.find('\n', line_start);
    if (line_end == absl::string_view::npos) line_end = body.size();
    const absl::string_view line = absl::StripAsciiWhitespace(
        body.substr(line_start, line_end - line_start));
    const absl::string_view word = absl::StripSuffix(
        absl::StripPrefix(absl::StripSuffix(line, ":"), "**"), "**");
    if (word == "Labels" || word == "Resolved" || word == "Firing") {
      if (line_start > part_start)
        parts.push_back(
            {body.substr(part_start, line_start - part_start), part_resolved});
      part_start = line_start;
      if (word != "Labels") part_resolved = word == "Resolved";
    }
    line_start = line_end + 1;
  }
  parts.push_back({body.substr(part_start), part_resolved});
  return parts;
}

// The alerts of one marker's text: the title's name and group, one alert
// per host named (a "[FIRING:1]" has one, the first).
std::vector<Alert> ParseBlock(absl::string_view body, const Marker& marker) {
  const Alert common = ParseOne(body);
  std::vector<Alert> alerts;
  for (const MessagePart& part : MessageParts(body, marker.resolved)) {
    const std::map<std::string, std::string> listed = ListedFields(part.text);
    const auto field = [&listed](const char* name) {
      auto it = listed.find(name);
      return it == listed.end() ? std::string() : it->second;
    };
    std::vector<std::string> hosts;
    if (!field("instance").empty()) {
      hosts.push_back(WithoutPort(field("instance")));
    } else {
      hosts = HostsIn(part.text);
    }
    for (const std::string& host : hosts) {
      const bool seen =
          std::any_of(alerts.begin(), alerts.end(),
                      [&](const Alert& other) { return other.host == host; });
      if (seen) continue;
      Alert alert = common;
      alert.host = host;
      alert.resolved = part.resolved;
      if (!field("mountpoint").empty()) alert.mountpoint = field("mountpoint");
      if (!field("device").empty()) alert.device = field("device");
      alert.text = std::string(body);
      alerts.push_back(std::move(alert));
    }
  }
  if (alerts.empty()) {
    alerts.push_back(common);
    alerts.back().resolved = marker.resolved;
    alerts.back().text = std::string(body);
  }
  // A text that announces one alert names one host, its first; more are
  // other words (a description quoting another host).
  if (marker.count == 1) alerts.resize(1);
  return alerts;
}

// Lower-case words of letters, digits and "<>" (placeholders): what a
// heading and pasted text are compared on.
std::vector<std::string> HeadingWords(absl::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (absl::ascii_isalnum(c) || c == '<' || c == '>') {
      word.push_back(absl::ascii_tolower(c));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

bool ContainsRun(const std::vector<std::string>& text,
                 const std::vector<std::string>& heading) {
  if (heading.empty() || heading.size() > text.size()) return false;
  for (size_t start = 0; start + heading.size() <= text.size(); ++start) {
    size_t i = 0;
    for (; i < heading.size(); ++i) {
      const std::string& want = heading[i];
      const bool any =
          want.size() > 2 && want.front() == '<' && want.back() == '>';
      if (!any && want != text[start + i]) break;
    }
    if (i == heading.size()) return true;
  }
  return false;
}

}  // namespace

std::vector<Alert> ParseAlerts(absl::string_view text) {
  std::vector<Alert> alerts;
  std::vector<Marker> markers = Markers(text);
  if (markers.empty()) {
    if (!absl::StripAsciiWhitespace(text).empty()) {
      Alert alert = ParseOne(text);
      alert.text = std::string(text);
      alerts.push_back(std::move(alert));
    }
    return alerts;
  }
  for (size_t i = 0; i < markers.size(); ++i) {
    const size_t end =
        i + 1 < markers.size() ? markers[i + 1].begin : text.size();
    absl::string_view body = text.substr(markers[i].end, end - markers[i].end);
    // Cut the next alert's "[Prometheus]: " prefix off this one.
    if (size_t prom = body.find("[Prometheus]");
        prom != absl::string_view::npos)
      body = body.substr(0, prom);
    for (Alert& alert : ParseBlock(body, markers[i]))
      alerts.push_back(std::move(alert));
  }
  return alerts;
}

RunbookMatch MatchEntry(absl::string_view alert_name,
                        const std::vector<std::string>& host_roles,
                        const std::vector<v1::RunbookEntry>& entries) {
  RunbookMatch match;
  int best = 0;
  std::vector<const v1::RunbookEntry*> tied;
  for (const v1::RunbookEntry& entry : entries) {
    const int fit = Fit(entry, alert_name, host_roles);
    if (fit < 0) match.candidates.push_back(&entry);
    if (fit <= 0 || fit < best) continue;
    if (fit > best) tied.clear();
    best = fit;
    tied.push_back(&entry);
  }
  if (tied.size() == 1) {
    match.entry = tied[0];
    match.candidates.clear();
  } else if (tied.size() > 1) {
    match.ambiguous = true;
    match.candidates = std::move(tied);
  }
  return match;
}

RunbookMatch MatchHeading(absl::string_view text,
                          const std::vector<v1::RunbookEntry>& entries) {
  RunbookMatch match;
  const std::vector<std::string> words = HeadingWords(text);
  size_t best = 0;
  std::vector<const v1::RunbookEntry*> tied;
  for (const v1::RunbookEntry& entry : entries) {
    size_t longest = 0;
    std::vector<std::string> headings(entry.headings().begin(),
                                      entry.headings().end());
    headings.push_back(entry.alert());
    for (const std::string& heading : headings) {
      const std::vector<std::string> wanted = HeadingWords(heading);
      if (ContainsRun(words, wanted))
        longest = std::max(longest, wanted.size());
    }
    if (longest == 0 || longest < best) continue;
    if (longest > best) tied.clear();
    best = longest;
    tied.push_back(&entry);
  }
  if (tied.size() == 1) {
    match.entry = tied[0];
  } else if (tied.size() > 1) {
    match.ambiguous = true;
    match.candidates = std::move(tied);
  }
  return match;
}

RunbookMatch MatchPastedAlert(const Alert& alert,
                              const std::vector<std::string>& host_roles,
                              const std::vector<v1::RunbookEntry>& entries) {
  RunbookMatch match = MatchEntry(alert.name, host_roles, entries);
  // A host's alert is never matched on its words: they do not stand in for
  // the host's roles.
  if (match.entry != nullptr || !alert.host.empty()) return match;
  RunbookMatch by_heading = MatchHeading(alert.text, entries);
  if (by_heading.entry != nullptr || by_heading.ambiguous) return by_heading;
  return match;
}

Alert AlertFromLabels(const std::map<std::string, std::string>& labels,
                      const std::map<std::string, std::string>& annotations) {
  const auto get = [](const std::map<std::string, std::string>& from,
                      const char* name) {
    auto it = from.find(name);
    return it == from.end() ? std::string() : it->second;
  };
  Alert alert;
  alert.name = get(labels, "alertname");
  alert.subject = get(labels, "application");
  if (alert.subject.empty()) alert.subject = get(labels, "service");
  alert.boiled = alert.subject.empty()
                     ? alert.name
                     : absl::StrCat(alert.name, " ", alert.subject);
  alert.environment = get(labels, "environment");
  alert.mountpoint = get(labels, "mountpoint");
  alert.device = get(labels, "device");
  const std::string description = get(annotations, "description");
  alert.host = get(labels, "instance").empty()
                   ? HostIn(description)
                   : WithoutPort(get(labels, "instance"));
  return alert;
}

}  // namespace opsagent
