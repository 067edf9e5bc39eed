#ifndef OPSAGENT_CONTROLLER_ALERTS_ALERT_LINKS_H_
#define OPSAGENT_CONTROLLER_ALERTS_ALERT_LINKS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace opsagent {

// Where a sender says more about an alert is: Prometheus' graph
// (generatorURL), the sender's own page (the notification's externalURL),
// Grafana's dashboard, panel and new-silence pages. They come from the
// network and end up as links on-call follows (incident show, the incident
// page, chat), so each is kept only as an http(s) URL.
struct AlertLinks {
  std::string generator;
  std::string external;
  std::string dashboard;
  std::string panel;
  std::string silence;
  // A link given was not kept (SafeLink).
  bool refused = false;
};

// The longest link kept.
inline constexpr size_t kMaxLinkBytes = 1024;

// `url` when it is an absolute http:// or https:// URL with a host, of at
// most kMaxLinkBytes of printable ASCII without spaces, quotes, angle
// brackets, backslashes or backticks (what a URL holds once
// percent-encoded), and without a user part before its host; "" otherwise, and
// `refused` set when `url` was not empty. A javascript:, data: or
// protocol-relative link is never kept.
std::string SafeLink(absl::string_view url, bool& refused);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_ALERT_LINKS_H_
