#include "controller/alerts/alert_links.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace opsagent {

std::string SafeLink(absl::string_view url, bool& refused) {
  if (url.empty()) return "";
  const auto refuse = [&refused] {
    refused = true;
    return std::string();
  };
  if (url.size() > kMaxLinkBytes) return refuse();
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '<' ||
        c == '>' || c == '\\' || c == '`')
      return refuse();
  }
  absl::string_view rest;
  if (absl::StartsWithIgnoreCase(url, "https://")) {
    rest = url.substr(8);
  } else if (absl::StartsWithIgnoreCase(url, "http://")) {
    rest = url.substr(7);
  } else {
    return refuse();
  }
  // A host, not a path or nothing ("http:///x", "https://?a").
  if (rest.empty() || !(absl::ascii_isalnum(rest[0]) || rest[0] == '['))
    return refuse();
  // No user part: "https://grafana.example.net@evil.example/" reads as
  // one host and goes to another.
  const absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (absl::StrContains(authority, '@')) return refuse();
  return std::string(url);
}

}  // namespace opsagent
