#include "controller/output/markdown.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/host_text.h"

namespace opsagent {
namespace {

bool IsAsciiPunctuation(char c) {
  return absl::ascii_ispunct(static_cast<unsigned char>(c));
}

// A fence longer than any run of backticks in `text`, so nothing in the
// output can close it.
std::string FenceFor(absl::string_view text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

}  // namespace

// `text` (one line, never at the start of a Markdown line) as Markdown that
// renders as that very text: what could start a link, an image, an
// autolink, HTML, an entity, code or emphasis is backslash-escaped, and
// nothing else, so the Markdown still reads as plain text ("05:12:43",
// "truncate_log"). Line breaks and terminal controls are shown escaped
// (TerminalSafe).
std::string MarkdownText(absl::string_view raw, MarkdownPlace place) {
  const std::string text = TerminalSafe(raw);
  const auto at = [&](size_t i) { return i < text.size() ? text[i] : '\0'; };
  const auto alnum = [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c));
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char before = i > 0 ? text[i - 1] : '\0';
    const char after = at(i + 1);
    bool escape = false;
    switch (c) {
      case '\\':
        // It escapes only punctuation, and at the end of a line it is a
        // line break; elsewhere ("\x1b") it is shown as it is.
        escape = after == '\0' || IsAsciiPunctuation(after);
        break;
      case '[':
      case ']':
      case '<':
      case '`':
      case '*':
      case '~':
        escape = true;
        break;
      case '|':
        escape = place == MarkdownPlace::kTableCell;
        break;
      case '_':
        // Inside a word ("truncate_log") it never starts emphasis.
        escape = !(alnum(before) && alnum(after));
        break;
      case '(':
        // "](": no link text is left to open, and no reader has to check.
        escape = before == ']';
        break;
      case '&':
        escape = alnum(after) || after == '#';  // an entity ("&lt;")
        break;
      case '#':
        escape = i == 0 || before == ' ';  // a heading's closing sequence
        break;
      case ':':
        // "https://...": GitHub links bare URLs.
        escape = after == '/' && at(i + 2) == '/';
        break;
      case '.':
        // "www.example.com": linked bare too.
        escape = i >= 3 && text.compare(i - 3, 3, "www") == 0 &&
                 (i == 3 || !alnum(text[i - 4]));
        break;
      case '@':
        escape = true;  // "someone@example.com" is linked bare too
        break;
      default:
        break;
    }
    if (escape) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// `text`'s lines, each after `indent`.
std::string Indented(absl::string_view text, absl::string_view indent) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n'))
    absl::StrAppend(&out, indent, line, "\n");
  return out;
}

// A fenced block indented by `indent` (a list item's body), its content
// shown as it is: nothing in it is Markdown.
std::string FencedBlock(absl::string_view text, absl::string_view indent) {
  const std::string safe =
      TerminalSafe(absl::StripSuffix(text, "\n"), LineBreaks::kKeep);
  const std::string fence = FenceFor(safe);
  return absl::StrCat(indent, fence, "text\n", Indented(safe, indent), indent,
                      fence, "\n");
}

}  // namespace opsagent
