#include "agent/system/mountinfo.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace opsagent {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string DecodeOctalEscapes(absl::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      absl::string_view digits = field.substr(i + 1, 3);
      if (digits[0] >= '0' && digits[0] <= '3' && digits[1] >= '0' &&
          digits[1] <= '7' && digits[2] >= '0' && digits[2] <= '7') {
        out.push_back(static_cast<char>((digits[0] - '0') * 64 +
                                        (digits[1] - '0') * 8 +
                                        (digits[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<MountEntry>> ParseMountinfo(absl::string_view text) {
  std::vector<MountEntry> mounts;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root
    // rw,errors=continue
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    size_t separator = 6;
    while (separator < fields.size() && fields[separator] != "-") ++separator;
    // Fields are separated by exactly one space and never empty; a mount
    // point is absolute.
    if (fields.size() < 10 || separator + 3 > fields.size() ||
        !absl::StartsWith(fields[4], "/") || fields[separator + 1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mountinfo line ", line_number, " is malformed: \"", line, "\""));
    }
    MountEntry mount;
    mount.mount_point = DecodeOctalEscapes(fields[4]);
    mount.fs_type = std::string(fields[separator + 1]);
    mount.source = DecodeOctalEscapes(fields[separator + 2]);
    std::vector<absl::string_view> options = absl::StrSplit(fields[5], ',');
    mount.read_only = !options.empty() && options.front() == "ro";
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

bool IsNoiseMount(const MountEntry& mount) {
  static const auto* const kNoiseTypes = new absl::flat_hash_set<std::string>{
      "autofs",    "binfmt_misc", "bpf",       "cgroup",   "cgroup2",
      "configfs",  "debugfs",     "devpts",    "devtmpfs", "fusectl",
      "hugetlbfs", "mqueue",      "nsfs",      "proc",     "pstore",
      "ramfs",     "securityfs",  "squashfs",  "sysfs",    "tmpfs",
      "tracefs",   "efivarfs",    "rpc_pipefs"};
  return kNoiseTypes->contains(mount.fs_type) ||
         absl::StartsWith(mount.source, "/dev/loop");
}

}  // namespace opsagent
