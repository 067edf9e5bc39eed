#ifndef OPSAGENT_CONTROLLER_CHAT_CHAT_MESSAGE_H_
#define OPSAGENT_CONTROLLER_CHAT_CHAT_MESSAGE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "controller/alerts/incident_events.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// What a chat message about an incident says: the event, the incident as
// it is now, the diagnosis' headline (its steps' one-line summaries from
// the team's log) and a link to its page ("" when opsctld serves none).
struct ChatMessageFacts {
  IncidentEvent event = IncidentEvent::kOpened;
  v1::Incident incident;
  std::vector<std::string> diagnosis_headline;
  std::string page_url;
};

// "opened", "diagnosed", "acknowledged", "resolved", "reopened".
absl::string_view IncidentEventName(IncidentEvent event);

// A Slack-compatible incoming webhook's body ({"text": ...} in mrkdwn).
// Everything that came from an alert, a host or an operator is quoted as
// inline code after Slack's own escaping (&, <, > as entities; backticks
// and line breaks replaced), so that no alert text becomes a mention
// (<!channel>, <@U123>), a link (<http://evil|text>) or formatting; the
// only link is the page's, which opsctld made.
std::string SlackMessage(const ChatMessageFacts& facts);

// A generic JSON webhook's body (an incident tool): the event, the
// incident's fields and the page's link, as JSON values.
std::string WebhookMessage(const ChatMessageFacts& facts);

// `text` as Slack inline code that shows it and nothing else (see
// SlackMessage), cut to `max_bytes`.
std::string SlackQuoted(absl::string_view text, size_t max_bytes = 300);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_CHAT_CHAT_MESSAGE_H_
