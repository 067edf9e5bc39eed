#ifndef OPSAGENT_COMMON_TLS_STAGING_DIRECTORY_H_
#define OPSAGENT_COMMON_TLS_STAGING_DIRECTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace opsagent {

// The private directory (0700) where a server keeps the copies of its TLS
// files that gRPC's certificate watcher reads, private key included. It is
// locked (flock) for as long as the process holds it, and removed when
// destroyed. A process that dies without cleaning up (SIGKILL, a crash, the
// OOM killer) leaves it behind, so Create first removes every sibling that
// no living process holds: left alone they would pile up in /tmp, each with
// a key that may since have been rotated away.
class StagingDirectory {
 public:
  // Makes and locks <parent>/opsagent-tls-XXXXXX, after RemoveAbandoned.
  // Refuses, changing nothing, a parent that anyone but root and this user
  // could change (CheckTrustedPath; a sticky root-owned one such as /tmp
  // passes): there others could swap the copies for their own or have a
  // directory of theirs swept.
  static absl::StatusOr<std::unique_ptr<StagingDirectory>> Create(
      const std::string& parent);
  ~StagingDirectory();
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;

  const std::string& path() const { return path_; }

  // Removes each <parent>/opsagent-tls-* that is a directory (never a link)
  // owned by this user, holds plain files only, is locked by nobody, and was
  // last changed more than `min_age` ago (one being made right now is not
  // locked yet). Works on descriptors, so nothing on the way is followed.
  // Returns how many it removed.
  static int RemoveAbandoned(const std::string& parent, absl::Duration min_age);

 private:
  StagingDirectory(std::string path, int locked_fd)
      : path_(std::move(path)), locked_fd_(locked_fd) {}

  std::string path_;
  int locked_fd_;  // the directory itself, flock'ed
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_STAGING_DIRECTORY_H_
