#ifndef OPSAGENT_AGENT_SYSTEM_MEMINFO_H_
#define OPSAGENT_AGENT_SYSTEM_MEMINFO_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// The columns of procps-ng 4 `free`, in bytes, derived from /proc/meminfo.
struct MemoryUsage {
  uint64_t total = 0;
  uint64_t used = 0;
  uint64_t free = 0;
  uint64_t shared = 0;
  uint64_t buff_cache = 0;
  uint64_t available = 0;
  uint64_t swap_total = 0;
  uint64_t swap_used = 0;
  uint64_t swap_free = 0;
};

// Parses the text of /proc/meminfo. `used` is total - available, as procps-ng
// 4 computes it; on kernels without MemAvailable, total - free - buff/cache.
absl::StatusOr<MemoryUsage> ParseMeminfo(absl::string_view text);

// Reads and parses `path` (normally /proc/meminfo).
absl::StatusOr<MemoryUsage> ReadMeminfo(
    const std::string& path = "/proc/meminfo");

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_MEMINFO_H_
