#ifndef OPSAGENT_CONTROLLER_OUTPUT_TIMESTAMPS_H_
#define OPSAGENT_CONTROLLER_OUTPUT_TIMESTAMPS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace opsagent {

// Unix milliseconds as opsctl shows times: "2026-12-01T20:18:36.123Z".
std::string Rfc3339Millis(int64_t unix_ms);

// A duration the way on-call reads an age: "45s", "12m", "3h05m", "2d04h".
std::string ShortDuration(absl::Duration duration);

// A count of seconds in absl's form: "3h2m1s", "0s".
std::string SecondsShown(int64_t seconds);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_OUTPUT_TIMESTAMPS_H_
