#include "controller/output/service_log.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "controller/output/terminal.h"

namespace opsagent {

std::string FormatServiceLog(
    const google::protobuf::RepeatedPtrField<v1::ServiceLogLine>& lines,
    const std::string& indent) {
  std::string text;
  for (const v1::ServiceLogLine& line : lines) {
    absl::StrAppend(&text, indent);
    if (line.time_unix_micros() != 0) {
      absl::StrAppend(
          &text, absl::FormatTime("%b %d %H:%M:%S ",
                                  absl::FromUnixMicros(line.time_unix_micros()),
                                  absl::UTCTimeZone()));
    }
    if (!line.source().empty())
      absl::StrAppend(&text, Shown(line.source()), ": ");
    absl::StrAppend(&text, Shown(line.text()), "\n");
  }
  return text;
}

}  // namespace opsagent
