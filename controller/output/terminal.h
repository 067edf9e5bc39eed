#ifndef OPSAGENT_CONTROLLER_OUTPUT_TERMINAL_H_
#define OPSAGENT_CONTROLLER_OUTPUT_TERMINAL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace opsagent {

// What opsctl prints comes largely from hosts, and a host (or anyone who can
// name a file on one) must not be able to act on the operator's terminal:
// set its title, write its clipboard (OSC 52), erase or forge lines.

// Text from a host, made safe to print on one line: control characters
// (newlines and tabs too), C1 controls and bidirectional overrides are shown
// as escapes (TerminalSafe).
std::string Shown(absl::string_view host_text);

// Arguments shown as one would type them at a shell: an empty one, or one
// holding a space, quote or anything but letters, digits and -_./:=,@%+,
// in single quotes, so that a value with a space ("x --top=9") shows as
// one argument and an empty one as ''. For display only: opsctl never runs
// a shell.
std::string ShownArguments(const std::vector<std::string>& args);

// Replaces stdout and stderr with streams that pass everything written to
// them through TerminalEscaper before it reaches the terminal or pipe, so
// that nothing printed anywhere in opsctl (tables, summaries, streamed
// command output, errors) carries a raw control character other than
// newline and tab. JSON stays valid: it holds no raw control characters, and
// C1 and bidirectional characters become JSON's own \uXXXX escapes. Call
// once, first thing in main.
void GuardStandardStreams();

// The one sanctioned use of terminal controls: a progress line on stderr,
// redrawn in place ("\r", erase line). `text` is shown with Shown().
void ShowProgress(absl::string_view text);
void ClearProgress();

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_OUTPUT_TERMINAL_H_
