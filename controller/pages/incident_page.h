#ifndef OPSAGENT_CONTROLLER_PAGES_INCIDENT_PAGE_H_
#define OPSAGENT_CONTROLLER_PAGES_INCIDENT_PAGE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// The incident pages' HTML, rendered on the server from incident_view.h's
// words: no script, no form, no inline style (the stylesheet is
// kPageStylesheet, served at /page.css), every value from an alert, a host
// or an operator escaped, and a link only where opsctld kept an http(s)
// URL. The pages hold nothing that could change anything.

// `text` with &, <, >, " and ' as character references.
std::string HtmlEscape(absl::string_view text);

// One incident: facts, links, silences, timeline, automatic diagnosis;
// `expires` says until when the link that opened it works, `list_path`
// (may be "") leads back to the list.
std::string RenderIncidentPage(const v1::Incident& incident,
                               const std::vector<v1::AuditEntry>& actions,
                               absl::Time expires,
                               const std::string& list_path);

// The incidents, newest first; `path_of` gives each one's page (a signed
// path).
std::string RenderIncidentList(
    const std::vector<v1::Incident>& incidents, absl::Time expires,
    const std::function<std::string(const std::string& id)>& path_of);

// A page saying why nothing is shown (a refused or expired link).
std::string RenderRefusal(absl::string_view why);

// The pages' stylesheet.
extern const char kPageStylesheet[];

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_PAGES_INCIDENT_PAGE_H_
