#ifndef OPSAGENT_AGENT_SYSTEM_ALLOWED_DIRECTORY_H_
#define OPSAGENT_AGENT_SYSTEM_ALLOWED_DIRECTORY_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "agent/system/unique_fd.h"

namespace opsagent {

// A directory named in the agent's configuration (an inspection root, the
// directory of a truncatable log pattern), pinned to the directory it was
// when the configuration was loaded.
//
// The path is resolved from "/" without following any symbolic link
// (openat2 RESOLVE_NO_SYMLINKS), once at load and again at every use, and
// the inode found must still be the one pinned at load. A root that was
// replaced after start, by a symbolic link or by another directory, is
// refused instead of being followed somewhere else: RESOLVE_BENEATH only
// protects what lies below a root, not the root itself. Copyable; holds no
// descriptor between uses, so the directory can be unmounted or removed.
class AllowedDirectory {
 public:
  // Fails, saying why, unless `path` is absolute, normalized (no ".", "..",
  // "//" or trailing "/"), and a directory reached without symbolic links.
  static absl::StatusOr<AllowedDirectory> Pin(const std::string& path);

  // An O_PATH | O_DIRECTORY descriptor on the directory, if it is still the
  // one pinned; PERMISSION_DENIED naming the change otherwise.
  absl::StatusOr<UniqueFd> Open() const;

  const std::string& path() const { return path_; }

 private:
  AllowedDirectory(std::string path, dev_t device, ino_t inode)
      : path_(std::move(path)), device_(device), inode_(inode) {}

  std::string path_;
  dev_t device_;
  ino_t inode_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_ALLOWED_DIRECTORY_H_
