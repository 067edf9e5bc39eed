#ifndef OPSAGENT_CONTROLLER_RUNBOOK_MARKDOWN_IMPORT_H_
#define OPSAGENT_CONTROLLER_RUNBOOK_MARKDOWN_IMPORT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opsagent/v1/runbook.pb.h"

namespace opsagent {

// Reads the team's on-call document (the seed's format: "# Products", a
// "## Product" heading each, "### alert" headings, _Diagnosis_ and
// _Mitigation_ sections, fenced code blocks) into runbook entries whose
// steps are the document's own paragraphs and code blocks, as guided steps.
// The document stays the source of the prose; automated steps are added to
// the generated entries by hand. Errors name the line.
absl::StatusOr<v1::Runbook> ImportRunbookMarkdown(absl::string_view markdown);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_RUNBOOK_MARKDOWN_IMPORT_H_
