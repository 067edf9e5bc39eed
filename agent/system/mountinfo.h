#ifndef OPSAGENT_AGENT_SYSTEM_MOUNTINFO_H_
#define OPSAGENT_AGENT_SYSTEM_MOUNTINFO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// One line of /proc/PID/mountinfo (see proc(5)), with octal escapes such as
// "\040" in paths decoded.
struct MountEntry {
  std::string mount_point;
  std::string fs_type;
  std::string source;
  bool read_only = false;
};

// Parses the text of a mountinfo file; a malformed line is an error naming it.
absl::StatusOr<std::vector<MountEntry>> ParseMountinfo(absl::string_view text);

// True for mounts `df` users do not want to see by default: kernel pseudo
// filesystems, tmpfs/devtmpfs, squashfs snaps and loop devices.
bool IsNoiseMount(const MountEntry& mount);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_MOUNTINFO_H_
