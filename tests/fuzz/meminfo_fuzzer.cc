// Fuzzes the /proc/meminfo parser: any text either fails with a status or
// yields columns that are consistent with each other.

#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "agent/system/meminfo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<opsagent::MemoryUsage> usage = opsagent::ParseMeminfo(text);
  if (!usage.ok()) return 0;
  // `used` is derived by subtraction; it must never wrap around.
  if (usage->used > usage->total || usage->swap_used > usage->swap_total)
    abort();
  return 0;
}
