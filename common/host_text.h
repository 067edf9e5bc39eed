#ifndef OPSAGENT_COMMON_HOST_TEXT_H_
#define OPSAGENT_COMMON_HOST_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// Text that comes from a host (file, directory and process names, mount
// points, unit states, supervisorctl and command output, error messages that
// quote them) is untrusted: any local user can name a file with bytes that
// are not UTF-8, or with escape sequences a terminal would obey (OSC 0 sets
// the window title, OSC 52 writes the clipboard, CSI 2K erases a line).
//
// The agent carries such text in Protobuf string fields in one lossless
// encoding, EscapeHostBytes; opsctl shows every string through TerminalSafe.

enum class LineBreaks {
  kEscape,  // "\n" and "\t" are escaped too: names, table cells
  kKeep,    // multi-line output (a command's output tail) keeps them
};

// Escapes `raw` into printable, valid UTF-8, reversibly: a backslash becomes
// "\\"; every byte that is a control character (C0 and DEL, and the two bytes
// of each C1 control U+0080..U+009F), part of a bidirectional-control or
// invisible character (IsPrintableText), or not part of well-formed UTF-8
// becomes "\xHH". Everything else is kept.
std::string EscapeHostBytes(absl::string_view raw,
                            LineBreaks line_breaks = LineBreaks::kEscape);

// The inverse of EscapeHostBytes, for a name an operator copied from opsctl's
// output: "\\" and "\xHH" are decoded, any other backslash is an error.
absl::StatusOr<std::string> UnescapeHostBytes(absl::string_view escaped);

// True when `text` is what EscapeHostBytes produces: valid UTF-8 without
// control, C1, bidirectional-control or invisible characters (zero-width,
// word joiner, BOM, line and paragraph separators, soft hyphen, fillers,
// tag characters; newline and tab allowed with LineBreaks::kKeep).
bool IsPrintableText(absl::string_view text,
                     LineBreaks line_breaks = LineBreaks::kEscape);

// `text` made safe to show on a terminal: the characters IsPrintableText
// refuses become visible escapes ("\x1b", "\u009b", "\u202e"; bytes that
// are not UTF-8 "\xff"). Backslashes are left alone, so text already escaped
// by EscapeHostBytes is shown unchanged.
std::string TerminalSafe(absl::string_view text,
                         LineBreaks line_breaks = LineBreaks::kEscape);

// Escapes a byte stream for a terminal chunk by chunk (as TerminalSafe with
// LineBreaks::kKeep), holding back an incomplete UTF-8 sequence at the end of
// a chunk until the next one completes or breaks it.
class TerminalEscaper {
 public:
  std::string Feed(absl::string_view chunk);
  // Whatever is held back, escaped: the stream ended mid-sequence.
  std::string Flush();

 private:
  std::string pending_;
};

// A CSV field as RFC 4180 quotes it, with the formula prefixes spreadsheets
// execute ("=", "+", "-", "@", tab, carriage return) neutralized by a
// leading "'", and the content passed through TerminalSafe.
std::string CsvField(absl::string_view text);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_HOST_TEXT_H_
