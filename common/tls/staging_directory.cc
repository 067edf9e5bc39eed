#include "common/tls/staging_directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/trusted_path.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr char kPrefix[] = "opsagent-tls-";

// The names in the directory open at `fd` (which stays open).
std::vector<std::string> Entries(int fd) {
  std::vector<std::string> names;
  const int copy = dup(fd);
  if (copy < 0) return names;
  DIR* dir = fdopendir(copy);
  if (dir == nullptr) {
    close(copy);
    return names;
  }
  rewinddir(dir);
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  return names;
}

// Unlinks the files in the directory open at `fd`, if it holds nothing else
// (staging never makes a subdirectory); false if anything is left.
bool EmptyOfFiles(int fd) {
  const std::vector<std::string> names = Entries(fd);
  for (const std::string& name : names) {
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        S_ISDIR(st.st_mode))
      return false;
  }
  bool emptied = true;
  for (const std::string& name : names)
    if (unlinkat(fd, name.c_str(), 0) != 0) emptied = false;
  return emptied;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StagingDirectory>> StagingDirectory::Create(
    const std::string& parent) {
  // Where others may rename what is not theirs, the copies could be swapped
  // for an attacker's (their CA trusted, the key read, a root file written
  // through a link) and a directory of theirs swept: nothing is staged there.
  if (absl::Status trusted = CheckTrustedPath(parent, TrustedKind::kDirectory);
      !trusted.ok())
    return absl::FailedPreconditionError(absl::StrCat(
        "will not stage TLS files under ", parent, ": ", trusted.message(),
        " (set RUNTIME_DIRECTORY or TMPDIR to a directory only root or this "
        "user can change, or a sticky one such as /tmp)"));
  if (const int removed = RemoveAbandoned(parent, absl::Minutes(1));
      removed > 0) {
    spdlog::info(
        "removed {} TLS staging director{} under {} left by processes that "
        "are gone",
        removed, removed == 1 ? "y" : "ies", parent);
  }
  std::string path = absl::StrCat(parent, "/", kPrefix, "XXXXXX");
  if (mkdtemp(path.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot make a staging directory ", path, ": ", std::strerror(errno)));
  }
  const int fd =
      open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0) {
    const int error = errno;
    if (fd >= 0) close(fd);
    rmdir(path.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot lock the staging directory ", path, ": ",
                     std::strerror(error)));
  }
  if (st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("the staging directory ", path,
                     " is not this user's alone after it was made"));
  }
  return std::unique_ptr<StagingDirectory>(
      new StagingDirectory(std::move(path), fd));
}

StagingDirectory::~StagingDirectory() {
  EmptyOfFiles(locked_fd_);
  rmdir(path_.c_str());
  close(locked_fd_);
}

int StagingDirectory::RemoveAbandoned(const std::string& parent,
                                      absl::Duration min_age) {
  const int parent_fd =
      open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0) return 0;
  const absl::Time changed_before = absl::Now() - min_age;
  int removed = 0;
  for (const std::string& name : Entries(parent_fd)) {
    if (!absl::StartsWith(name, kPrefix)) continue;
    const int fd = openat(parent_fd, name.c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;  // a link, or not a directory
    struct stat st;
    const bool abandoned =
        fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
        absl::TimeFromTimespec(st.st_mtim) < changed_before &&
        flock(fd, LOCK_EX | LOCK_NB) == 0;  // held until closed below
    if (abandoned && EmptyOfFiles(fd) &&
        unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) == 0)
      ++removed;
    close(fd);
  }
  close(parent_fd);
  return removed;
}

}  // namespace opsagent
