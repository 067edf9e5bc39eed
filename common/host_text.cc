#include "common/host_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"

namespace opsagent {
namespace {

// Characters a terminal may act on, that reorder what is shown after them,
// or that show as nothing ("/var/log\u200b" looks like /var/log).
bool IsControlBidiOrInvisible(uint32_t c, LineBreaks line_breaks) {
  if (c == '\n' || c == '\t') return line_breaks == LineBreaks::kEscape;
  if (c < 0x20 || c == 0x7F) return true;
  if (c >= 0x80 && c <= 0x9F) return true;  // C1: CSI, OSC, ... in one byte
  return c == 0x061C || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) ||
         c == 0xFEFF ||
         // Shown as nothing too: the soft hyphen, the combining grapheme
         // joiner, Hangul and Khmer fillers, Mongolian free variation
         // selectors and vowel separator, and the tag characters.
         c == 0x00AD || c == 0x034F || c == 0x115F || c == 0x1160 ||
         c == 0x17B4 || c == 0x17B5 || (c >= 0x180B && c <= 0x180F) ||
         c == 0x3164 || c == 0xFFA0 || (c >= 0xE0000 && c <= 0xE007F);
}

// What stands at text[i]: a well-formed sequence to keep or to escape, or one
// byte that is not UTF-8.
struct Unit {
  size_t length;
  bool keep;
  uint32_t code_point;
  bool valid;
};

Unit UnitAt(absl::string_view text, size_t i, LineBreaks line_breaks) {
  const Utf8Sequence sequence = DecodeUtf8At(text, i);
  if (sequence.length == 0) return {1, false, 0, false};
  return {sequence.length,
          !IsControlBidiOrInvisible(sequence.code_point, line_breaks),
          sequence.code_point, true};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string EscapeHostBytes(absl::string_view raw, LineBreaks line_breaks) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size();) {
    if (raw[i] == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    const Unit unit = UnitAt(raw, i, line_breaks);
    if (unit.keep) {
      out.append(raw.data() + i, unit.length);
    } else {
      for (size_t k = 0; k < unit.length; ++k)
        absl::StrAppendFormat(&out, "\\x%02x",
                              static_cast<unsigned char>(raw[i + k]));
    }
    i += unit.length;
  }
  return out;
}

absl::StatusOr<std::string> UnescapeHostBytes(absl::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '\\') {
      out += escaped[i];
      continue;
    }
    if (i + 1 < escaped.size() && escaped[i + 1] == '\\') {
      out += '\\';
      ++i;
      continue;
    }
    if (i + 3 < escaped.size() && escaped[i + 1] == 'x' &&
        HexValue(escaped[i + 2]) >= 0 && HexValue(escaped[i + 3]) >= 0) {
      out += static_cast<char>(HexValue(escaped[i + 2]) * 16 +
                               HexValue(escaped[i + 3]));
      i += 3;
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "a backslash at byte ", i,
        " starts no escape: write a backslash as \\\\ and a raw byte as "
        "\\xHH, as opsctl shows them"));
  }
  return out;
}

bool IsPrintableText(absl::string_view text, LineBreaks line_breaks) {
  for (size_t i = 0; i < text.size();) {
    const Unit unit = UnitAt(text, i, line_breaks);
    if (!unit.keep) return false;
    i += unit.length;
  }
  return true;
}

std::string TerminalSafe(absl::string_view text, LineBreaks line_breaks) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const Unit unit = UnitAt(text, i, line_breaks);
    if (unit.keep) {
      out.append(text.data() + i, unit.length);
    } else if (!unit.valid || unit.code_point < 0x80) {
      absl::StrAppendFormat(&out, "\\x%02x",
                            static_cast<unsigned char>(text[i]));
    } else {
      absl::StrAppendFormat(&out, "\\u%04x", unit.code_point);
    }
    i += unit.length;
  }
  return out;
}

std::string TerminalEscaper::Feed(absl::string_view chunk) {
  pending_.append(chunk.data(), chunk.size());
  // Hold back a trailing sequence that the next chunk may complete.
  size_t complete = pending_.size();
  for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
    const unsigned char c = pending_[pending_.size() - back];
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    const size_t needed = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (needed > back) complete = pending_.size() - back;
    break;
  }
  std::string out = TerminalSafe(
      absl::string_view(pending_).substr(0, complete), LineBreaks::kKeep);
  pending_.erase(0, complete);
  return out;
}

std::string TerminalEscaper::Flush() {
  std::string out = TerminalSafe(pending_, LineBreaks::kKeep);
  pending_.clear();
  return out;
}

std::string CsvField(absl::string_view text) {
  std::string safe = TerminalSafe(text);
  if (!safe.empty() && (safe.front() == '=' || safe.front() == '+' ||
                        safe.front() == '-' || safe.front() == '@')) {
    safe.insert(0, "'");
  }
  // Tab and carriage return were escaped by TerminalSafe already.
  std::string out = "\"";
  for (char c : safe) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace opsagent
