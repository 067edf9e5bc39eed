#ifndef OPSAGENT_COMMON_LOGGING_H_
#define OPSAGENT_COMMON_LOGGING_H_

#include "absl/strings/string_view.h"
#include "fmt/format.h"

// Debian's Abseil has its own string_view type (not std::string_view);
// this lets spdlog and fmt print it like any string.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view text, FormatContext& context) const {
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(text.data(), text.size()), context);
  }
};

namespace opsagent {

// Sends spdlog's default logger to stderr, one line per event, without
// timestamps when running under journald (which adds its own). Every
// message is passed through TerminalSafe first, so text from callers and
// hosts cannot break a line or reach the reader's terminal raw.
void InitLogging(absl::string_view program, bool verbose);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_LOGGING_H_
