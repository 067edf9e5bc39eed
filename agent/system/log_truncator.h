#ifndef OPSAGENT_AGENT_SYSTEM_LOG_TRUNCATOR_H_
#define OPSAGENT_AGENT_SYSTEM_LOG_TRUNCATOR_H_

#include <sys/stat.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "agent/system/confined_path.h"
#include "agent/system/unique_fd.h"

namespace opsagent {

// A log file checked for truncation and open read-write through the very
// descriptor that was checked: renaming or swapping the path afterwards
// cannot redirect the truncation to another file.
struct CheckedLog {
  UniqueFd fd;
  std::string path;
  struct stat st;
};

// Opens `path` without following symlinks or leaving its root, and refuses
// anything but a regular file with exactly one name (FIFOs, devices,
// directories and hard-linked files). FIFOs and devices are never opened
// for reading or writing: the check is made on an O_PATH descriptor first.
absl::StatusOr<CheckedLog> OpenLogForTruncation(const ConfinedPath& path);

struct TruncationResult {
  uint64_t size_before = 0;
  uint64_t size_after = 0;
  uint64_t allocated_before = 0;  // blocks the file held, in bytes
  uint64_t allocated_after = 0;
  uint64_t file_freed_bytes = 0;        // allocated blocks the file gave back
  uint64_t filesystem_freed_bytes = 0;  // growth of the filesystem's free space
  // How the tail was kept: "" (nothing kept), "collapse" (the head was
  // removed in place, FALLOC_FL_COLLAPSE_RANGE) or "copy".
  std::string tail_method;
};

// The most `keep_tail_bytes` may be (the tail is copied through memory).
inline constexpr uint64_t kMaxKeepTailBytes = 64ull << 20;

// Truncates the log in place, keeping its last `keep_tail_bytes`. Writers
// that opened the file with O_APPEND, as loggers do, carry on at the new
// end; the file is never unlinked.
//
// The tail is kept without ever overwriting the head in place, so that a
// full disk cannot leave a half-overwritten file: where the filesystem can
// (ext4, XFS) the head is cut out with FALLOC_FL_COLLAPSE_RANGE, which
// needs no space and rounds the cut down to whole blocks (up to one block
// more than asked is kept); elsewhere the tail is read into memory, the file
// truncated to nothing, then the tail written back into the freed space. If
// that write fails the file is left empty and DATA_LOSS says so.
absl::StatusOr<TruncationResult> TruncateCheckedLog(CheckedLog& log,
                                                    uint64_t keep_tail_bytes);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_LOG_TRUNCATOR_H_
