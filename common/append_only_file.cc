#include "common/append_only_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// "No space left on device (ENOSPC)": what on-call searches for, and what
// they read.
std::string ErrnoText(int error) {
  const char* name = strerrorname_np(error);
  return absl::StrCat(std::strerror(error), " (",
                      name != nullptr ? name : absl::StrCat("errno ", error),
                      ")");
}

int TruncateTo(int fd, off_t size) {
  int rc;
  do {
    rc = ftruncate(fd, size);
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

// What an unprivileged writer may still allocate on `fd`'s filesystem (the
// root reserve not counted, so a daemon running as root errs towards
// keeping its reserve); 0 when it cannot be told.
uint64_t AvailableBytes(int fd) {
  struct statvfs st;
  if (fstatvfs(fd, &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace

AppendOnlyFile::AppendOnlyFile(int fd, std::string name)
    : fd_(fd), name_(std::move(name)) {}

AppendOnlyFile::~AppendOnlyFile() { close(fd_); }

absl::Status AppendOnlyFile::KeepReserve(uint64_t bytes) {
  absl::MutexLock lock(&mutex_);
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reserve space for ", name_, ": fstat: ", ErrnoText(errno)));
  }
  reserve_bytes_ = bytes;
  // What an earlier run reserved is still allocated past the end.
  reserved_end_ = std::max<uint64_t>(static_cast<uint64_t>(st.st_size),
                                     static_cast<uint64_t>(st.st_blocks) * 512);
  TopUpReserve(st.st_size);
  if (reserve_error_ != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot reserve ", bytes, " bytes past the end of ", name_,
                     ": ", ErrnoText(reserve_error_),
                     "; appends are tried again, and ask for it again"));
  }
  return absl::OkStatus();
}

uint64_t AppendOnlyFile::ReserveLeft(off_t size) const {
  const uint64_t end = static_cast<uint64_t>(size);
  return reserved_end_ > end ? reserved_end_ - end : 0;
}

void AppendOnlyFile::TopUpReserve(off_t size) {
  const uint64_t wanted = static_cast<uint64_t>(size) + reserve_bytes_;
  if (reserved_end_ >= wanted) return;
  // The reserve never takes a filesystem's last free space (a partial
  // fallocate keeps what it got, and every append would ask again): it
  // grows only while at least as much as it takes stays free.
  const uint64_t more = wanted - std::max<uint64_t>(reserved_end_, size);
  if (AvailableBytes(fd_) < 2 * more) {
    if (reserve_error_ == 0) {
      spdlog::warn(
          "{}: not reserving {} more bytes past its end: its filesystem has "
          "{} bytes available, and the reserve leaves at least as much as it "
          "takes; {} bytes of it are left",
          name_, more, AvailableBytes(fd_), ReserveLeft(size));
    }
    reserve_error_ = ENOSPC;
    return;
  }
  int rc;
  do {
    rc = fallocate(fd_, FALLOC_FL_KEEP_SIZE, size,
                   static_cast<off_t>(reserve_bytes_));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) {
    if (reserve_error_ != 0) {
      spdlog::info("{}: {} bytes reserved past its end again", name_,
                   reserve_bytes_);
    }
    reserved_end_ = static_cast<uint64_t>(size) + reserve_bytes_;
    reserve_error_ = 0;
    return;
  }
  const int error = errno;
  if (error == EOPNOTSUPP) {
    spdlog::warn(
        "{}: its filesystem cannot reserve space (fallocate: {}); appends "
        "fail when it is full",
        name_, ErrnoText(error));
    reserve_bytes_ = 0;
    return;
  }
  if (reserve_error_ == 0) {
    spdlog::warn(
        "{}: cannot reserve {} bytes past its end: {}; {} bytes of the "
        "reserve are left",
        name_, reserve_bytes_, ErrnoText(error), ReserveLeft(size));
  }
  reserve_error_ = error;
}

absl::Status AppendOnlyFile::Append(absl::string_view line,
                                    Durability durability,
                                    uint64_t keep_reserved) {
  if (line.find('\n') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot append to ", name_,
                     ": a record must be one line, and this one holds a "
                     "newline"));
  }
  std::string record;
  record.reserve(line.size() + 1);
  record.append(line.data(), line.size());
  record.push_back('\n');

  absl::MutexLock lock(&mutex_);
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot append to ", name_,
                                               ": fstat: ", ErrnoText(errno)));
  }
  const off_t before = st.st_size;
  if (reserve_bytes_ > 0 &&
      reserved_end_ < static_cast<uint64_t>(before) + reserve_bytes_ / 2)
    TopUpReserve(before);
  const uint64_t reserve_left = ReserveLeft(before);
  // Writes land at the end, in the reserve, whatever room the filesystem
  // has elsewhere; only when it has none is the kept part off limits.
  if (keep_reserved > 0 && reserve_left < record.size() + keep_reserved) {
    const uint64_t free_bytes = AvailableBytes(fd_);
    if (free_bytes < record.size()) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "not appended to ", name_, ": its filesystem is full (", free_bytes,
          " bytes available) and the last ", reserve_left,
          " bytes of its reserve are kept for changes"));
    }
  }
  // A write to a regular file may come back short (the filesystem filled up
  // mid-record): the next write says why, and its errno is the cause.
  size_t done = 0;
  int error = 0;
  const char* failed = "write";
  while (done < record.size()) {
    const ssize_t n = write(fd_, record.data() + done, record.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // No progress and no error: the filesystem has no room.
    error = n < 0 ? errno : ENOSPC;
    break;
  }
  if (error == 0 && durability == Durability::kSynced && fdatasync(fd_) != 0) {
    error = errno;
    failed = "fdatasync";
  }
  if (error == 0) return absl::OkStatus();

  std::string message = absl::StrCat(
      "cannot append to ", name_, ": ", failed, ": ", ErrnoText(error), " (",
      done, " of ", record.size(), " bytes of the record written");
  // Unsynced bytes are not trusted either: the whole record goes. Cutting
  // the file back frees what was reserved past its end too.
  if (done > 0) {
    reserved_end_ = static_cast<uint64_t>(before);
    if (const int cut = TruncateTo(fd_, before); cut != 0) {
      absl::StrAppend(&message, "; cutting the file back to ", before,
                      " bytes failed too: ", ErrnoText(cut),
                      ", so the torn line is cut off at the next start)");
    } else {
      absl::StrAppend(&message, ", the file cut back to its ", before,
                      " bytes)");
    }
  } else {
    absl::StrAppend(&message, ", the file unchanged)");
  }
  return absl::UnavailableError(message);
}

absl::StatusOr<uint64_t> AppendOnlyFile::CutTornTail(uint64_t max_line_bytes) {
  absl::MutexLock lock(&mutex_);
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot read ", name_, ": fstat: ", ErrnoText(errno)));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  // Look for the last newline from the end, at most a line's length back.
  const uint64_t window = std::min<uint64_t>(size, max_line_bytes + 1);
  std::string chunk;
  uint64_t tail = 0;
  bool found = false;
  while (tail < window && !found) {
    const uint64_t length = std::min<uint64_t>(4096, window - tail);
    chunk.resize(length);
    const off_t at = static_cast<off_t>(size - tail - length);
    const ssize_t n = pread(fd_, chunk.data(), length, at);
    if (n != static_cast<ssize_t>(length)) {
      return absl::UnavailableError(absl::StrCat(
          "cannot read ", name_, " at offset ", at, ": ",
          n < 0 ? ErrnoText(errno) : "the file shrank while it was read"));
    }
    const size_t newline = chunk.rfind('\n');
    if (newline == std::string::npos) {
      tail += length;
    } else {
      tail += length - newline - 1;
      found = true;
    }
  }
  if (tail == 0) return 0;
  if (tail > max_line_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        name_, " does not end in a newline, and its last ", tail,
        " bytes are longer than any line it is written with: not a line cut "
        "off mid-write. Move the file aside (it was not written by this "
        "daemon alone)"));
  }
  if (const int cut = TruncateTo(fd_, static_cast<off_t>(size - tail));
      cut != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot cut the torn last line (", tail, " bytes) off ",
                     name_, ": ", ErrnoText(cut)));
  }
  return tail;
}

CompleteLines SplitCompleteLines(absl::string_view text) {
  const size_t newline = text.rfind('\n');
  if (newline == absl::string_view::npos) return {"", text};
  return {text.substr(0, newline + 1), text.substr(newline + 1)};
}

}  // namespace opsagent
