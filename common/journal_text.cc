#include "common/journal_text.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace opsagent {

std::string BoundedJournalText(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  const std::string marker =
      absl::StrCat(" ...[cut: ", text.size(), " bytes in all]");
  const size_t room = max_bytes > marker.size() ? max_bytes - marker.size() : 0;
  // Whole UTF-8 sequences only (a byte that is not well-formed counts as
  // one: the text may be escaped host bytes or anything a caller sent).
  size_t kept = 0;
  while (kept < room) {
    const size_t length = std::max<size_t>(1, DecodeUtf8At(text, kept).length);
    if (kept + length > room) break;
    kept += length;
  }
  return absl::StrCat(text.substr(0, kept), marker);
}

}  // namespace opsagent
