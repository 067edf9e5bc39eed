#include "agent/system/allowed_directory.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace opsagent {
namespace {

// Opens `path` from "/" without following symbolic links anywhere in it.
// Returns 0, or the errno of the failure.
int OpenWithoutSymlinks(const std::string& path, UniqueFd* out) {
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (path == "/") {
    *out = std::move(root);
    return 0;
  }
  open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd =
      syscall(SYS_openat2, root.get(), path.c_str() + 1, &how, sizeof(how));
  if (fd >= 0) {
    *out = UniqueFd(static_cast<int>(fd));
    return 0;
  }
  if (errno != ENOSYS) return errno;
  // Kernels before 5.6: component by component with O_NOFOLLOW.
  UniqueFd current = std::move(root);
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    UniqueFd next(openat(current.get(), std::string(part).c_str(),
                         O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      struct stat st;
      if (fstatat(current.get(), std::string(part).c_str(), &st,
                  AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode))
        return ELOOP;
      return errno;
    }
    current = std::move(next);
  }
  *out = std::move(current);
  return 0;
}

absl::Status Explain(const std::string& path, int error) {
  switch (error) {
    case ELOOP:
      return absl::PermissionDeniedError(absl::StrCat(
          path,
          " is or passes through a symbolic link; configure the real "
          "path"));
    case ENOENT:
      return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    case ENOTDIR:
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is not a directory"));
    default:
      return absl::UnavailableError(
          absl::StrCat("cannot open ", path, ": ", std::strerror(error)));
  }
}

}  // namespace

absl::StatusOr<AllowedDirectory> AllowedDirectory::Pin(
    const std::string& path) {
  if (path.empty() || path.front() != '/')
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\" is not absolute"));
  if (path != "/" &&
      (absl::EndsWith(path, "/") || absl::StrContains(path, "//")))
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\" is not normalized"));
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == "." || part == "..")
      return absl::InvalidArgumentError(
          absl::StrCat("\"", path, "\" contains ", part));
  }
  UniqueFd fd;
  if (int error = OpenWithoutSymlinks(path, &fd); error != 0)
    return Explain(path, error);
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISDIR(st.st_mode))
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a directory"));
  return AllowedDirectory(path, st.st_dev, st.st_ino);
}

absl::StatusOr<UniqueFd> AllowedDirectory::Open() const {
  UniqueFd fd;
  if (int error = OpenWithoutSymlinks(path_, &fd); error != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "allowed directory ", path_, " is no longer the one configured (",
        Explain(path_, error).message(), "); refusing to use it"));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || st.st_dev != device_ ||
      st.st_ino != inode_) {
    return absl::PermissionDeniedError(absl::StrCat(
        "allowed directory ", path_,
        " was replaced since the agent started (another directory now has "
        "its name); refusing to use it. Restart the agent if the change is "
        "intended"));
  }
  return fd;
}

}  // namespace opsagent
