#include "agent/server/action_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat("agent journal ", path, ": ", what, ": ", strerror(errno)));
}

std::vector<v1::JournalRecord> ReadHistory(const std::string& path) {
  std::vector<v1::JournalRecord> records;
  std::ifstream in(path);
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    v1::JournalRecord record;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // written by a newer agent
    if (!google::protobuf::util::JsonStringToMessage(line, &record, options)
             .ok()) {
      spdlog::warn("agent journal {}:{}: unreadable record skipped", path,
                   line_number);
      continue;
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ActionJournal>> ActionJournal::Open(
    const std::string& path) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
           0600);
  if (fd < 0) return ErrnoError("cannot open for appending", path);
  // Its directory passed the trust checks, but one that is sticky and
  // shared (/tmp) would let another user create the file first.
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "agent journal ", path,
        " is not a regular file owned by this user and writable by it "
        "alone; refusing to use it"));
  }
  // A crash in the middle of a write leaves a line without its newline; end
  // it so that the next record starts on a line of its own.
  off_t size = lseek(fd, 0, SEEK_END);
  if (size > 0) {
    char last = '\n';
    const int reader = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (reader >= 0) {
      if (pread(reader, &last, 1, size - 1) != 1) last = '\n';
      close(reader);
    }
    if (last != '\n' && write(fd, "\n", 1) != 1) {
      absl::Status status = ErrnoError("cannot append", path);
      close(fd);
      return status;
    }
  }
  return std::unique_ptr<ActionJournal>(
      new ActionJournal(path, fd, ReadHistory(path)));
}

ActionJournal::~ActionJournal() { close(fd_); }

std::vector<v1::JournalRecord> ActionJournal::ReadSince(absl::Time since,
                                                        size_t limit,
                                                        bool* truncated) const {
  std::vector<v1::JournalRecord> records;
  for (v1::JournalRecord& record : ReadHistory(path_)) {
    absl::Time at;
    std::string error;
    if (absl::ParseTime(absl::RFC3339_full, record.time(), &at, &error) &&
        at < since)
      continue;
    record.clear_reply();
    records.push_back(std::move(record));
  }
  *truncated = records.size() > limit;
  if (*truncated) records.erase(records.begin(), records.end() - limit);
  return records;
}

absl::Status ActionJournal::Append(v1::JournalRecord record,
                                   Durability durability) {
  record.set_time(
      absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone()));
  std::string line;
  if (!google::protobuf::util::MessageToJsonString(record, &line).ok()) {
    return absl::InternalError("agent journal: cannot encode a record");
  }
  line.push_back('\n');
  absl::MutexLock lock(&mutex_);
  // One write per record: with O_APPEND, concurrent records never interleave.
  const ssize_t written = write(fd_, line.data(), line.size());
  if (written != static_cast<ssize_t>(line.size())) {
    if (written >= 0) errno = ENOSPC;
    const int write_errno = errno;
    if (written > 0) {  // end the torn line so that the next one is readable
      [[maybe_unused]] ssize_t ignored = write(fd_, "\n", 1);
    }
    errno = write_errno;
    return ErrnoError("cannot append", path_);
  }
  if (durability == Durability::kSynced && fdatasync(fd_) != 0)
    return ErrnoError("cannot sync", path_);
  return absl::OkStatus();
}

}  // namespace opsagent
