#include "controller/audit/audit_log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/trusted_path.h"

namespace opsagent {
namespace {

absl::Status MakeParentDirectory(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return absl::OkStatus();
  std::string dir = path.substr(0, slash);
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string prefix = dir.substr(0, i);
      if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
        return absl::UnavailableError(
            absl::StrCat("audit log: cannot create directory ", prefix, ": ",
                         std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLogFile(const std::string& path) {
  if (absl::Status checked = CheckAuditLogLocation(path); !checked.ok())
    return checked;
  const std::string absolute = std::filesystem::absolute(path).string();
  // Created here (0600) when missing, so that SQLite never makes it with
  // its own mode.
  const int fd =
      open(absolute.c_str(),
           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) {
    return absl::UnavailableError(absl::StrCat(
        "audit log ", path, " cannot be created: ", std::strerror(errno)));
  }
  if (fd >= 0) close(fd);
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckAuditLogLocation(const std::string& path) {
  const std::string absolute = std::filesystem::absolute(path).string();
  if (absl::Status checked = CheckWrittenFile(absolute, kSqliteCompanions);
      !checked.ok()) {
    return absl::Status(checked.code(), absl::StrCat("audit log ", path, ": ",
                                                     checked.message()));
  }
  return absl::OkStatus();
}

absl::Status PrepareAuditLogFile(const std::string& path) {
  if (absl::Status status = MakeParentDirectory(path); !status.ok())
    return status;
  return CheckLogFile(path);
}

absl::Status WithSpaceHint(absl::Status status, const std::string& path) {
  if (status.ok()) return status;
  const std::string dir = DirectoryOf(path);
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) == 0 &&
      vfs.f_bavail * vfs.f_frsize < (64u << 10)) {
    return absl::Status(
        status.code(),
        absl::StrCat(status.message(), "; the filesystem holding it is full (",
                     dir, ")"));
  }
  return status;
}

}  // namespace opsagent
