#ifndef OPSAGENT_COMMON_JOURNAL_TEXT_H_
#define OPSAGENT_COMMON_JOURNAL_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace opsagent {

// How text a caller chose (a path, a reason, an incident, an error quoting
// them) is kept in the agent's journal: at most a bound, cut with a marker,
// and with the SHA-256 of the whole text beside it when cut, so that
// `opsctl audit reconcile` still compares the whole text with the team log.
// The agent writes with these, reconcile compares with these.

// Bytes of a reason, incident, path or error message kept per record.
inline constexpr size_t kJournalTextBytes = 256;

// `text` itself when it is at most `max_bytes` long; otherwise its first
// bytes (cut at a UTF-8 character boundary) and the marker
// " ...[cut: N bytes in all]", `max_bytes` or fewer in all.
std::string BoundedJournalText(absl::string_view text,
                               size_t max_bytes = kJournalTextBytes);

// True when BoundedJournalText would cut `text`.
inline bool JournalTextIsCut(absl::string_view text,
                             size_t max_bytes = kJournalTextBytes) {
  return text.size() > max_bytes;
}

// The caller a NOT_JOURNALED record names when the agent tracks too many
// callers to count each apart.
inline constexpr char kJournalOtherCallers[] = "(other callers)";

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_JOURNAL_TEXT_H_
