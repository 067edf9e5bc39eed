#ifndef OPSAGENT_COMMON_HUMAN_SIZE_H_
#define OPSAGENT_COMMON_HUMAN_SIZE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// Formats a byte count the way `free -h`, `df -h` and `du -h` do: powers of
// 1024, one decimal below 10 ("7.5G", "120M", "4.0K", "0B"), rounded up.
std::string FormatHumanSize(uint64_t bytes);

// Parses "4096", "512K", "1.5G", "2GiB" (powers of 1024) into bytes.
absl::StatusOr<uint64_t> ParseHumanSize(absl::string_view text);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_HUMAN_SIZE_H_
