#include "agent/system/log_truncator.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

absl::Status Refuse(const std::string& path, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat(path, " ", why, "; nothing was changed"));
}

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory";
  if (S_ISFIFO(mode)) return "is a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "is a device file";
  if (S_ISSOCK(mode)) return "is a socket";
  if (S_ISLNK(mode)) return "is a symbolic link";
  return "is not a regular file";
}

uint64_t FreeBytes(int fd) {
  struct statvfs vfs;
  return fstatvfs(fd, &vfs) == 0
             ? static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize
             : 0;
}

}  // namespace

absl::StatusOr<CheckedLog> OpenLogForTruncation(const ConfinedPath& path) {
  absl::StatusOr<UniqueFd> handle = OpenConfined(path, O_PATH | O_NOFOLLOW);
  if (!handle.ok()) return handle.status();
  struct stat st;
  if (fstat(handle->get(), &st) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot stat ", path.full, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return Refuse(path.full, FileKind(st.st_mode));
  if (st.st_nlink != 1) {
    return Refuse(
        path.full,
        absl::StrCat(
            "has ", st.st_nlink,
            " hard links; truncating it would also empty the other names"));
  }
  // Reopen the checked inode itself for writing (not the path again).
  UniqueFd fd(open(absl::StrCat("/proc/self/fd/", handle->get()).c_str(),
                   O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot open ", path.full, " for writing: ", std::strerror(errno)));
  }
  struct stat reopened;
  if (fstat(fd.get(), &reopened) != 0 || reopened.st_dev != st.st_dev ||
      reopened.st_ino != st.st_ino) {
    return Refuse(path.full, "changed while it was being opened");
  }
  return CheckedLog{std::move(fd), path.full, reopened};
}

absl::StatusOr<TruncationResult> TruncateCheckedLog(CheckedLog& log,
                                                    uint64_t keep_tail_bytes) {
  if (keep_tail_bytes > kMaxKeepTailBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("keep_tail_bytes may be at most ", kMaxKeepTailBytes));
  }
  struct stat before;
  if (fstat(log.fd.get(), &before) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot stat ", log.path, ": ", std::strerror(errno)));
  }
  const uint64_t free_before = FreeBytes(log.fd.get());
  TruncationResult result;
  result.size_before = before.st_size;
  const uint64_t keep = std::min<uint64_t>(keep_tail_bytes, before.st_size);
  if (keep > 0 && keep < static_cast<uint64_t>(before.st_size)) {
    std::vector<char> tail(keep);
    ssize_t n = pread(log.fd.get(), tail.data(), keep, before.st_size - keep);
    if (n != static_cast<ssize_t>(keep) ||
        pwrite(log.fd.get(), tail.data(), keep, 0) !=
            static_cast<ssize_t>(keep)) {
      return absl::DataLossError(
          absl::StrCat("copying the last ", keep, " bytes of ", log.path,
                       " failed: ", std::strerror(errno)));
    }
  }
  if (ftruncate(log.fd.get(), keep) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "truncating ", log.path, " failed: ", std::strerror(errno)));
  }
  struct stat after;
  fstat(log.fd.get(), &after);
  result.size_after = after.st_size;
  const uint64_t blocks_before = static_cast<uint64_t>(before.st_blocks) * 512;
  const uint64_t blocks_after = static_cast<uint64_t>(after.st_blocks) * 512;
  result.file_freed_bytes =
      blocks_before > blocks_after ? blocks_before - blocks_after : 0;
  const uint64_t free_after = FreeBytes(log.fd.get());
  result.filesystem_freed_bytes =
      free_after > free_before ? free_after - free_before : 0;
  return result;
}

}  // namespace opsagent
