#include "agent/system/log_truncator.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/host_text.h"

namespace opsagent {
namespace {

absl::Status Refuse(const std::string& path, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat(EscapeHostBytes(path), " ", why, "; nothing was changed"));
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
    return absl::UnavailableError(absl::StrCat("cannot stat ",
                                               EscapeHostBytes(path.full), ": ",
                                               std::strerror(errno)));
  }
  if (S_ISLNK(st.st_mode)) {
    // Refused like every symlink on the way to a path (OpenConfined).
    return absl::PermissionDeniedError(absl::StrCat(
        EscapeHostBytes(path.full),
        " is a symbolic link; symlinks are never followed; nothing was "
        "changed"));
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
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", EscapeHostBytes(path.full),
                     " for writing: ", std::strerror(errno)));
  }
  struct stat reopened;
  if (fstat(fd.get(), &reopened) != 0 || reopened.st_dev != st.st_dev ||
      reopened.st_ino != st.st_ino) {
    return Refuse(path.full, "changed while it was being opened");
  }
  return CheckedLog{std::move(fd), path.full, reopened};
}

namespace {

// Writes all of `data` at `offset`, retrying short writes.
bool WriteAll(int fd, const std::vector<char>& data, off_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        pwrite(fd, data.data() + done, data.size() - done, offset + done);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    done += n;
  }
  return true;
}

// Keeps the last `keep` of `size` bytes; returns the method used.
absl::StatusOr<std::string> KeepTail(const CheckedLog& log, uint64_t size,
                                     uint64_t keep) {
  struct statvfs vfs;
  const uint64_t block =
      fstatvfs(log.fd.get(), &vfs) == 0 && vfs.f_bsize > 0 ? vfs.f_bsize : 4096;
  const uint64_t cut = (size - keep) / block * block;
  if (cut > 0 &&
      fallocate(log.fd.get(), FALLOC_FL_COLLAPSE_RANGE, 0, cut) == 0) {
    return std::string("collapse");
  }
  std::vector<char> tail(keep);
  size_t read_bytes = 0;
  while (read_bytes < keep) {
    const ssize_t n = pread(log.fd.get(), tail.data() + read_bytes,
                            keep - read_bytes, size - keep + read_bytes);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat(
          "reading the last ", keep, " bytes of ", EscapeHostBytes(log.path),
          " failed: ", n < 0 ? std::strerror(errno) : "the file shrank",
          "; nothing was changed"));
    }
    read_bytes += n;
  }
  if (ftruncate(log.fd.get(), 0) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "truncating ", EscapeHostBytes(log.path),
        " failed: ", std::strerror(errno), "; nothing was changed"));
  }
  if (!WriteAll(log.fd.get(), tail, 0)) {
    return absl::DataLossError(absl::StrCat(
        EscapeHostBytes(log.path), " was emptied, but writing its last ", keep,
        " bytes back failed (", std::strerror(errno),
        "): the file is now empty and that tail is lost"));
  }
  return std::string("copy");
}

}  // namespace

absl::StatusOr<TruncationResult> TruncateCheckedLog(CheckedLog& log,
                                                    uint64_t keep_tail_bytes) {
  if (keep_tail_bytes > kMaxKeepTailBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("keep_tail_bytes may be at most ", kMaxKeepTailBytes));
  }
  struct stat before;
  if (fstat(log.fd.get(), &before) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot stat ", EscapeHostBytes(log.path), ": ", std::strerror(errno)));
  }
  const uint64_t free_before = FreeBytes(log.fd.get());
  TruncationResult result;
  result.size_before = before.st_size;
  result.allocated_before = static_cast<uint64_t>(before.st_blocks) * 512;
  const uint64_t size = before.st_size;
  const uint64_t keep = std::min<uint64_t>(keep_tail_bytes, size);
  if (keep == 0) {
    if (ftruncate(log.fd.get(), 0) != 0) {
      return absl::UnavailableError(
          absl::StrCat("truncating ", EscapeHostBytes(log.path),
                       " failed: ", std::strerror(errno)));
    }
  } else if (keep < size) {
    absl::StatusOr<std::string> method = KeepTail(log, size, keep);
    if (!method.ok()) return method.status();
    result.tail_method = *method;
  }
  struct stat after;
  fstat(log.fd.get(), &after);
  result.size_after = after.st_size;
  result.allocated_after = static_cast<uint64_t>(after.st_blocks) * 512;
  result.file_freed_bytes =
      result.allocated_before > result.allocated_after
          ? result.allocated_before - result.allocated_after
          : 0;
  const uint64_t free_after = FreeBytes(log.fd.get());
  result.filesystem_freed_bytes =
      free_after > free_before ? free_after - free_before : 0;
  return result;
}

}  // namespace opsagent
