#include "common/append_only_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

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

}  // namespace

AppendOnlyFile::AppendOnlyFile(int fd, std::string name)
    : fd_(fd), name_(std::move(name)) {}

AppendOnlyFile::~AppendOnlyFile() { close(fd_); }

absl::Status AppendOnlyFile::Append(absl::string_view line,
                                    Durability durability) {
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
  // Unsynced bytes are not trusted either: the whole record goes.
  if (done > 0) {
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
