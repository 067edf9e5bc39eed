#ifndef OPSAGENT_AGENT_SYSTEM_DISK_USAGE_SCANNER_H_
#define OPSAGENT_AGENT_SYSTEM_DISK_USAGE_SCANNER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace opsagent {

// Size of one directory (including everything below it) or one file.
struct PathSize {
  std::string path;
  uint64_t disk_bytes = 0;      // allocated blocks, as `du` counts
  uint64_t apparent_bytes = 0;  // file lengths, as `du --apparent-size`
};

struct DiskUsageProgressUpdate {
  uint64_t entries_scanned = 0;
  uint64_t disk_bytes_scanned = 0;
  absl::Duration elapsed;
};

struct DiskUsageScanOptions {
  size_t top_directories = 10;
  size_t top_files = 10;
  // The scan stops, marked incomplete, after this many entries...
  uint64_t max_entries = UINT64_MAX;
  // ...or at this time...
  absl::Time deadline = absl::InfiniteFuture();
  // ...or when this returns true (the client went away). May be empty.
  std::function<bool()> cancelled;
  // Called about every `progress_interval` while scanning. May be empty.
  std::function<void(const DiskUsageProgressUpdate&)> on_progress;
  absl::Duration progress_interval = absl::Milliseconds(500);
  // Threads that stat(2) entries; the walk itself stays in one thread, in
  // readdir order, so results do not depend on this.
  int stat_threads = 2;
};

struct DiskUsageSummary {
  uint64_t disk_bytes = 0;
  uint64_t apparent_bytes = 0;
  uint64_t files = 0;
  uint64_t directories = 0;
  std::vector<PathSize>
      largest_directories;              // largest first; includes the root
  std::vector<PathSize> largest_files;  // largest first
  bool incomplete = false;
  std::string incomplete_reason;
  uint64_t skipped_entries = 0;     // other filesystems, unreadable directories
  std::vector<std::string> errors;  // the first few, for the operator
  absl::Duration elapsed;
};

// Walks the directory open at `directory_fd` like `du -x`: stays on its
// filesystem, never follows symlinks, counts hard-linked files once, and keeps
// only the largest directories and files. `display_path` names the directory
// in results. Fails only if the top directory itself cannot be read; problems
// below it are counted in `skipped_entries` and `errors`.
absl::StatusOr<DiskUsageSummary> ScanDiskUsage(
    int directory_fd, const std::string& display_path,
    const DiskUsageScanOptions& options);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_DISK_USAGE_SCANNER_H_
