// Fuzzes the mountinfo parser: any text either fails with a status or yields
// entries with a mount point and a filesystem type.

#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "agent/system/mountinfo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto mounts = opsagent::ParseMountinfo(text);
  if (!mounts.ok()) return 0;
  for (const opsagent::MountEntry& mount : *mounts) {
    if (mount.mount_point.empty() || mount.fs_type.empty()) abort();
    opsagent::IsNoiseMount(mount);
  }
  return 0;
}
