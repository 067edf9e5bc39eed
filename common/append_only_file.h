#ifndef OPSAGENT_COMMON_APPEND_ONLY_FILE_H_
#define OPSAGENT_COMMON_APPEND_ONLY_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace opsagent {

// A file a daemon only ever appends lines to (opsctld's checkpoint export
// file, the agent's journal) that survives a full filesystem: an append that
// fails or comes back short (ENOSPC, EDQUOT, EFBIG, EIO, a failed sync) is
// cut back to the size the file had before it, so the file only ever holds
// whole lines and the next append starts on a line of its own. Errors name
// the file and the real cause (the errno of the call that failed, taken at
// once), with how far the append got.
//
// The caller opens the file (with its own trust checks) for reading and
// appending, O_RDWR | O_APPEND; this takes the descriptor. Safe to use from
// several threads at once; one process must be the file's only writer (the
// size an append is cut back to is the one it saw before writing).
class AppendOnlyFile {
 public:
  // `name` is how errors name the file ("agent journal /var/lib/...").
  AppendOnlyFile(int fd, std::string name);
  ~AppendOnlyFile();
  AppendOnlyFile(const AppendOnlyFile&) = delete;
  AppendOnlyFile& operator=(const AppendOnlyFile&) = delete;

  // kSynced: on disk (fdatasync) before Append returns; kWritten: in the
  // file, which outlives the process but not a power loss.
  enum class Durability { kSynced, kWritten };

  // Appends `line` and a newline, or nothing: on any failure the file is cut
  // back to its size before. `line` must not hold a newline itself.
  absl::Status Append(absl::string_view line, Durability durability);

  // For the start of a daemon, before the file is read: bytes after the
  // last newline are a line cut off mid-write (the daemon was killed, or
  // the machine lost power, while appending) and are cut off; returns how
  // many (0 when the file ends in a newline or is empty). A tail longer than
  // `max_line_bytes` is no line this daemon wrote: refused, nothing cut.
  absl::StatusOr<uint64_t> CutTornTail(uint64_t max_line_bytes);

  const std::string& name() const { return name_; }

 private:
  absl::Mutex mutex_;
  const int fd_;
  const std::string name_;
};

// Text read from an append-only file, split at its last newline: the whole
// lines (each ending in a newline), and the torn tail after them, a line
// cut off mid-write that must never be read as a record (empty when the
// text ends in a newline).
struct CompleteLines {
  absl::string_view lines;
  absl::string_view torn_tail;
};
CompleteLines SplitCompleteLines(absl::string_view text);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_APPEND_ONLY_FILE_H_
