#ifndef OPSAGENT_CONTROLLER_OUTPUT_MARKDOWN_H_
#define OPSAGENT_CONTROLLER_OUTPUT_MARKDOWN_H_

#include <string>

#include "absl/strings/string_view.h"

namespace opsagent {

// Text from hosts and alerts written into Markdown (an incident's page) so
// that it renders as that very text, never as a link, HTML or emphasis.

// Where Markdown text goes: a table cell also ends at "|".
enum class MarkdownPlace { kLine, kTableCell };

// `text` (one line, never at the start of a Markdown line) as Markdown that
// renders as that very text: what could start a link, an image, an
// autolink, HTML, an entity, code or emphasis is backslash-escaped, and
// nothing else, so the Markdown still reads as plain text ("05:12:43",
// "truncate_log"). Line breaks and terminal controls are shown escaped
// (TerminalSafe).
std::string MarkdownText(absl::string_view raw, MarkdownPlace place);

// `text`'s lines, each after `indent`.
std::string Indented(absl::string_view text, absl::string_view indent);

// A fenced block indented by `indent` (a list item's body), its content
// shown as it is: nothing in it is Markdown.
std::string FencedBlock(absl::string_view text, absl::string_view indent);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_OUTPUT_MARKDOWN_H_
