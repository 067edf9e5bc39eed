#include "common/trusted_path.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace opsagent {
namespace {

constexpr int kMaxSymlinks = 16;

std::string ModeText(mode_t mode) {
  return absl::StrFormat("%04o", mode & 07777);
}

absl::Status Untrusted(const std::string& path, absl::string_view why,
                       absl::string_view fix) {
  return absl::PermissionDeniedError(
      absl::StrCat(path, " ", why, ", so it cannot be trusted; ", fix));
}

bool OwnedByUs(const struct stat& st) {
  return st.st_uid == 0 || st.st_uid == geteuid();
}

absl::Status CheckOwnerAndMode(const std::string& path, const struct stat& st,
                               bool last, TrustedKind kind) {
  if (!OwnedByUs(st)) {
    return Untrusted(
        path, absl::StrCat("is owned by uid ", st.st_uid),
        absl::StrCat("make it owned by root (chown root ", path, ")"));
  }
  if (S_ISLNK(st.st_mode)) return absl::OkStatus();  // links have no mode
  const bool directory = S_ISDIR(st.st_mode);
  if (last && kind == TrustedKind::kDirectory && !directory)
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a directory"));
  if (last && kind != TrustedKind::kDirectory && !S_ISREG(st.st_mode))
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file"));
  const bool sticky_root =
      directory && (st.st_mode & S_ISVTX) && st.st_uid == 0;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky_root) {
    return Untrusted(
        path,
        absl::StrCat("is writable by ",
                     (st.st_mode & S_IWOTH) ? "others" : "its group", " (mode ",
                     ModeText(st.st_mode), ")"),
        absl::StrCat("chmod go-w ", path));
  }
  if (last && kind == TrustedKind::kSecretFile && (st.st_mode & S_IROTH)) {
    return Untrusted(path,
                     absl::StrCat("is a private key readable by others (mode ",
                                  ModeText(st.st_mode), ")"),
                     absl::StrCat("chmod o-r ", path));
  }
  return absl::OkStatus();
}

absl::Status Check(const std::string& path, TrustedKind kind, int depth) {
  if (path.empty() || path.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\" is not an absolute path"));
  }
  if (depth > kMaxSymlinks) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": too many symbolic links"));
  }
  std::vector<std::string> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  std::string current = "/";
  struct stat st;
  if (lstat("/", &st) != 0 || !OwnedByUs(st) ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Untrusted("/", "is writable by others or not root's",
                     "fix the root directory");
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const std::string parent = current;
    current = current == "/" ? "/" + parts[i] : current + "/" + parts[i];
    if (lstat(current.c_str(), &st) != 0) {
      return absl::NotFoundError(
          absl::StrCat("cannot read ", path, ": ",
                       current == path ? "" : absl::StrCat(current, ": "),
                       std::strerror(errno)));
    }
    if (absl::Status status = CheckOwnerAndMode(current, st, last, kind);
        !status.ok())
      return status;
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      const ssize_t n = readlink(current.c_str(), target, sizeof(target) - 1);
      if (n < 0) {
        return absl::NotFoundError(absl::StrCat(
            "cannot read the link ", current, ": ", std::strerror(errno)));
      }
      std::string resolved(target, n);
      if (resolved.front() != '/') resolved = parent + "/" + resolved;
      for (size_t k = i + 1; k < parts.size(); ++k)
        absl::StrAppend(&resolved, "/", parts[k]);
      return Check(resolved, kind, depth + 1);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTrustedPath(const std::string& path, TrustedKind kind) {
  return Check(path, kind, 0);
}

namespace {

// `path`, if it exists, as CheckWrittenFile wants each of its files.
absl::Status CheckWrittenRegularFile(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();  // created when first used
    return absl::UnavailableError(
        absl::StrCat(path, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file",
                     S_ISLNK(st.st_mode) ? " but a symbolic link" : "",
                     "; it is written, and must be one itself"));
  }
  if (absl::Status trusted = CheckTrustedPath(path, TrustedKind::kFile);
      !trusted.ok()) {
    // Gone since the lstat above: another process closed the log last and
    // SQLite removed its -wal. Nothing is left to distrust, and what is
    // made in its place is made in the directory checked above.
    if (absl::IsNotFound(trusted) && lstat(path.c_str(), &st) != 0 &&
        errno == ENOENT)
      return absl::OkStatus();
    return absl::FailedPreconditionError(trusted.message());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckWrittenFile(const std::string& path,
                              absl::Span<const char* const> companions) {
  const std::string directory = DirectoryOf(path);
  if (absl::Status trusted =
          CheckTrustedPath(directory, TrustedKind::kDirectory);
      !trusted.ok())
    return absl::FailedPreconditionError(trusted.message());
  struct stat dir;
  if (stat(directory.c_str(), &dir) != 0)
    return absl::UnavailableError(
        absl::StrCat(directory, ": ", std::strerror(errno)));
  if ((dir.st_mode & 022) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is in %s, where others may create files (mode %04o): they "
        "could plant what is opened beside it; keep it in a directory only "
        "its owner writes (chmod go-w %s, or another directory)",
        path, directory, dir.st_mode & 07777, directory));
  }
  if (absl::Status file = CheckWrittenRegularFile(path); !file.ok())
    return file;
  for (const char* suffix : companions) {
    if (absl::Status companion =
            CheckWrittenRegularFile(absl::StrCat(path, suffix));
        !companion.ok())
      return companion;
  }
  return absl::OkStatus();
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return path.substr(0, std::max<size_t>(1, slash));
}

std::string AbsoluteFromWorkingDirectory(const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return path;  // refused later
  const absl::string_view relative =
      absl::StartsWith(path, "./") ? absl::string_view(path).substr(2) : path;
  return absl::StrCat(cwd, std::string_view(cwd) == "/" ? "" : "/", relative);
}

}  // namespace opsagent
