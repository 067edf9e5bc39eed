#include "agent/server/action_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// No record is longer than the largest message a link carries; a torn last
// line longer than that was not written by the agent.
constexpr uint64_t kMaxRecordBytes = 16 << 20;

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat("agent journal ", path, ": ", what, ": ", strerror(errno)));
}

// One line of the journal; nullopt when it is not a record.
std::optional<v1::JournalRecord> ParseRecord(const std::string& line) {
  v1::JournalRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // written by a newer agent
  if (!google::protobuf::util::JsonStringToMessage(line, &record, options).ok())
    return std::nullopt;
  return record;
}

std::vector<v1::JournalRecord> ReadHistory(const std::string& path) {
  std::vector<v1::JournalRecord> records;
  std::ifstream in(path);
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    std::optional<v1::JournalRecord> record = ParseRecord(line);
    if (!record.has_value()) {
      spdlog::warn("agent journal {}:{}: unreadable record skipped", path,
                   line_number);
      continue;
    }
    records.push_back(*std::move(record));
  }
  return records;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ActionJournal>> ActionJournal::Open(
    const std::string& path, uint64_t reserve_bytes) {
  const int fd = open(
      path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
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
  auto file = std::make_unique<AppendOnlyFile>(
      fd, absl::StrCat("agent journal ", path));
  // A crash in the middle of an append leaves a line without its newline:
  // a record that was never whole, so never acted on. It is cut off, so that
  // the next record starts on a line of its own.
  absl::StatusOr<uint64_t> torn = file->CutTornTail(kMaxRecordBytes);
  if (!torn.ok()) return torn.status();
  if (*torn > 0) {
    spdlog::warn(
        "agent journal {}: cut off its torn last line ({} bytes without a "
        "newline: a record cut off by a crash)",
        path, *torn);
  }
  if (absl::Status reserved = file->KeepReserve(reserve_bytes);
      !reserved.ok()) {
    spdlog::warn("{}", std::string(reserved.message()));
  }
  return std::unique_ptr<ActionJournal>(new ActionJournal(
      path, std::move(file), ReadHistory(path), reserve_bytes));
}

ActionJournal::~ActionJournal() = default;

absl::Status ActionJournal::ReadSince(absl::Time since, uint64_t cursor,
                                      size_t max_records, size_t max_bytes,
                                      v1::JournalReply* page) const {
  // Streams through the file from `cursor`, one line at a time: what is held
  // is the page, and one line.
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent journal ", path_,
                     ": cannot open for reading: ", strerror(errno)));
  }
  if (cursor > 0) {
    // A cursor is where a line starts: just after a newline.
    char before = 0;
    in.seekg(static_cast<std::streamoff>(cursor - 1));
    if (!in.get(before) || before != '\n') {
      return absl::InvalidArgumentError(absl::StrCat(
          "journal cursor ", cursor, " is not where a record of ", path_,
          " starts (past its end, or not a cursor this agent gave)"));
    }
  }
  uint64_t offset = cursor;
  size_t bytes = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline yet: a record still being appended
    const uint64_t next = offset + line.size() + 1;
    if (line.empty()) {
      offset = next;
      continue;
    }
    std::optional<v1::JournalRecord> record = ParseRecord(line);
    absl::Time at;
    std::string error;
    if (!record.has_value() ||
        (absl::ParseTime(absl::RFC3339_full, record->time(), &at, &error) &&
         at < since)) {
      offset = next;
      continue;
    }
    if (page->records_size() > 0 &&
        (bytes + line.size() > max_bytes ||
         static_cast<size_t>(page->records_size()) >= max_records)) {
      page->set_more(true);
      page->set_next_cursor(offset);
      return absl::OkStatus();
    }
    bytes += line.size();
    record->clear_reply();
    *page->add_records() = *std::move(record);
    offset = next;
  }
  page->set_more(false);
  page->set_next_cursor(0);
  return absl::OkStatus();
}

absl::Status ActionJournal::Append(v1::JournalRecord record,
                                   Durability durability,
                                   ReserveUse reserve_use) {
  record.set_time(
      absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone()));
  std::string line;
  if (!google::protobuf::util::MessageToJsonString(record, &line).ok()) {
    return absl::InternalError("agent journal: cannot encode a record");
  }
  return file_->Append(
      line,
      durability == Durability::kSynced ? AppendOnlyFile::Durability::kSynced
                                        : AppendOnlyFile::Durability::kWritten,
      /*keep_reserved=*/reserve_use == ReserveUse::kHalf ? reserve_bytes_ / 2
                                                         : 0);
}

}  // namespace opsagent
