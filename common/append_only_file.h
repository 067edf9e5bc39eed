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

  // Keeps `bytes` of the filesystem allocated to the file past its end
  // (fallocate with FALLOC_FL_KEEP_SIZE: the file's size and content do not
  // change), topped up by Append whenever half of it is used. Appends write
  // into that space, so they go on when the filesystem is 100% full, until
  // the reserve itself is used up. A filesystem that cannot give it (full,
  // or too small) keeps what it gave, and Append asks again; one that does
  // not support fallocate keeps none. Call once, before appending.
  absl::Status KeepReserve(uint64_t bytes);

  // Appends `line` and a newline, or nothing: on any failure the file is cut
  // back to its size before. `line` must not hold a newline itself. With
  // `keep_reserved` > 0, when the filesystem has no room left for the line
  // and it would leave less than `keep_reserved` of the reserve, nothing is
  // written (ResourceExhausted): that part of the reserve is kept for
  // appends that pass 0.
  absl::Status Append(absl::string_view line, Durability durability,
                      uint64_t keep_reserved = 0);

  // For the start of a daemon, before the file is read: bytes after the
  // last newline are a line cut off mid-write (the daemon was killed, or
  // the machine lost power, while appending) and are cut off; returns how
  // many (0 when the file ends in a newline or is empty). A tail longer than
  // `max_line_bytes` is no line this daemon wrote: refused, nothing cut.
  absl::StatusOr<uint64_t> CutTornTail(uint64_t max_line_bytes);

  const std::string& name() const { return name_; }

 private:
  // Asks the filesystem for the reserve past `size`, the file's size now.
  void TopUpReserve(off_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Reserved bytes left past `size`.
  uint64_t ReserveLeft(off_t size) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  const int fd_;
  const std::string name_;
  uint64_t reserve_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  // The reserve is allocated up to here (a file offset); at or below the
  // file's size, none is left.
  uint64_t reserved_end_ ABSL_GUARDED_BY(mutex_) = 0;
  // Why the last top-up failed (ENOSPC, EDQUOT); 0 when it did not.
  int reserve_error_ ABSL_GUARDED_BY(mutex_) = 0;
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
