#include "agent/system/confined_path.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/host_text.h"
#include "common/utf8.h"

namespace opsagent {
namespace {

bool IsUnder(absl::string_view path, absl::string_view root) {
  if (root == "/") return true;
  return path == root ||
         (absl::StartsWith(path, root) && path[root.size()] == '/');
}

absl::Status OpenError(const ConfinedPath& path, int error) {
  const std::string shown = EscapeHostBytes(path.full);
  switch (error) {
    case ELOOP:
      return absl::PermissionDeniedError(
          absl::StrCat(shown,
                       " is or passes through a symbolic link; symlinks are "
                       "never followed"));
    case EXDEV:
      return absl::PermissionDeniedError(absl::StrCat(
          shown, " resolves outside its allowed root ", path.root.path()));
    case ENOENT:
      return absl::NotFoundError(absl::StrCat(shown, " does not exist"));
    case ENOTDIR:
      return absl::FailedPreconditionError(
          absl::StrCat(shown, ": a component is not a directory"));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(
          absl::StrCat(shown, ": permission denied"));
    default:
      return absl::UnavailableError(
          absl::StrCat("cannot open ", shown, ": ", std::strerror(error)));
  }
}

// Kernels before 5.6 lack openat2: walk the components with O_NOFOLLOW.
absl::StatusOr<UniqueFd> OpenComponentWise(int root_fd,
                                           const ConfinedPath& path,
                                           int flags) {
  std::vector<std::string> parts =
      absl::StrSplit(path.relative, '/', absl::SkipEmpty());
  UniqueFd current(dup(root_fd));
  for (size_t i = 0; i < parts.size(); ++i) {
    bool last = i + 1 == parts.size();
    int step_flags = last ? (flags | O_NOFOLLOW | O_CLOEXEC)
                          : (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    UniqueFd next(openat(current.get(), parts[i].c_str(), step_flags, 0));
    if (!next.valid()) return OpenError(path, errno);
    current = std::move(next);
  }
  if (parts.empty()) {
    UniqueFd reopened(openat(root_fd, ".", flags | O_CLOEXEC, 0));
    if (!reopened.valid()) return OpenError(path, errno);
    return reopened;
  }
  return current;
}

}  // namespace

absl::StatusOr<ConfinedPath> ConfinePath(
    absl::string_view text, const std::vector<AllowedDirectory>& roots) {
  std::vector<std::string> root_paths;
  for (const AllowedDirectory& root : roots) root_paths.push_back(root.path());
  const std::string roots_text =
      absl::StrCat("[", absl::StrJoin(root_paths, ", "), "]");
  if (text.empty()) return absl::InvalidArgumentError("path is empty");
  if (!IsValidUtf8(text))
    return absl::InvalidArgumentError("path is not valid UTF-8");
  absl::StatusOr<std::string> decoded = UnescapeHostBytes(text);
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("path: ", decoded.status().message()));
  }
  const std::string& path = *decoded;
  if (path.size() > PATH_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("path is longer than ", PATH_MAX, " bytes"));
  }
  if (path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("path contains a NUL byte");
  }
  if (path.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("path \"", text, "\" is not absolute"));
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(path, '/', absl::SkipEmpty());
  for (absl::string_view part : parts) {
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          "path \"", text, "\" contains \"", part, "\"; give the plain path"));
    }
  }
  std::string normalized = absl::StrCat("/", absl::StrJoin(parts, "/"));
  for (const AllowedDirectory& root : roots) {
    if (!IsUnder(normalized, root.path())) continue;
    std::string relative =
        normalized == root.path()
            ? ""
            : normalized.substr(root.path() == "/" ? 1
                                                   : root.path().size() + 1);
    return ConfinedPath{root, std::move(relative), std::move(normalized)};
  }
  return absl::PermissionDeniedError(
      absl::StrCat("path ", EscapeHostBytes(normalized),
                   " is outside the allowed roots ", roots_text));
}

absl::StatusOr<UniqueFd> OpenConfined(const ConfinedPath& path, int flags) {
  absl::StatusOr<UniqueFd> opened = path.root.Open();
  if (!opened.ok()) return opened.status();
  UniqueFd root = *std::move(opened);
  open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const char* relative = path.relative.empty() ? "." : path.relative.c_str();
  long fd = syscall(SYS_openat2, root.get(), relative, &how, sizeof(how));
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  if (errno == ENOSYS) return OpenComponentWise(root.get(), path, flags);
  return OpenError(path, errno);
}

}  // namespace opsagent
