#include "agent/system/disk_usage_scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <queue>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "agent/system/stat_pool.h"
#include "common/host_text.h"

namespace opsagent {
namespace {

constexpr size_t kMaxErrors = 10;
// Clock, cancellation and progress are checked once per this many entries.
constexpr uint64_t kCheckEvery = 1024;

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};

// Keeps the N largest entries seen; paths are only built for entries that
// make it in, since most files never do.
class LargestN {
 public:
  explicit LargestN(size_t capacity) : capacity_(capacity) {}

  bool WouldKeep(uint64_t disk_bytes) const {
    return capacity_ > 0 &&
           (heap_.size() < capacity_ || disk_bytes > heap_.top().disk_bytes);
  }

  void Offer(PathSize entry) {
    if (!WouldKeep(entry.disk_bytes)) return;
    heap_.push(std::move(entry));
    if (heap_.size() > capacity_) heap_.pop();
  }

  std::vector<PathSize> TakeLargestFirst() {
    std::vector<PathSize> out;
    while (!heap_.empty()) {
      out.push_back(heap_.top());
      heap_.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  struct Smaller {
    bool operator()(const PathSize& a, const PathSize& b) const {
      return a.disk_bytes != b.disk_bytes ? a.disk_bytes > b.disk_bytes
                                          : a.path < b.path;
    }
  };
  size_t capacity_;
  std::priority_queue<PathSize, std::vector<PathSize>, Smaller> heap_;
};

// Entries are read and stat'ed this many at a time per directory, which
// bounds memory however large a directory is.
constexpr size_t kChunk = 512;

// A directory being read; its totals grow as children are finished.
struct Frame {
  std::unique_ptr<DIR, DirCloser> dir;
  std::string path;
  uint64_t disk_bytes = 0;
  uint64_t apparent_bytes = 0;
  std::vector<StatJob> chunk;  // the entries read but not yet visited
  size_t next = 0;
  bool exhausted = false;
};

class Scanner {
 public:
  explicit Scanner(const DiskUsageScanOptions& options)
      : options_(options),
        stat_pool_(std::max(1, options.stat_threads)),
        directories_(options.top_directories),
        files_(options.top_files),
        start_(absl::Now()),
        next_progress_(start_ + options.progress_interval) {}

  absl::StatusOr<DiskUsageSummary> Run(int directory_fd,
                                       const std::string& display_path) {
    struct stat st;
    if (fstat(directory_fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(display_path, " is not a directory"));
    }
    device_ = st.st_dev;
    int own_fd = fcntl(directory_fd, F_DUPFD_CLOEXEC, 0);
    DIR* dir = own_fd >= 0 ? fdopendir(own_fd) : nullptr;
    if (dir == nullptr) {
      if (own_fd >= 0) close(own_fd);
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot read ", display_path, ": ", std::strerror(errno)));
    }
    rewinddir(dir);
    summary_.directories = 1;
    Frame top;
    top.dir.reset(dir);
    top.path = display_path;
    top.disk_bytes = DiskBytes(st);
    top.apparent_bytes = static_cast<uint64_t>(st.st_size);
    stack_.push_back(std::move(top));
    Walk();
    // Unwind what is still open (an early stop) so the totals cover all that
    // was read.
    while (!stack_.empty()) FinishTopFrame();
    summary_.largest_directories = directories_.TakeLargestFirst();
    summary_.largest_files = files_.TakeLargestFirst();
    summary_.elapsed = absl::Now() - start_;
    return std::move(summary_);
  }

 private:
  static uint64_t DiskBytes(const struct stat& st) {
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  void Walk() {
    while (!stack_.empty()) {
      Frame& frame = stack_.back();
      if (frame.next == frame.chunk.size() && !FillChunk(frame)) {
        FinishTopFrame();
        continue;
      }
      if (++entries_ % kCheckEvery == 0 && ShouldStop()) return;
      if (entries_ > options_.max_entries) {
        Stop(
            absl::StrCat("entry budget of ", options_.max_entries, " reached"));
        return;
      }
      StatJob& entry = frame.chunk[frame.next++];
      VisitEntry(frame, entry);
    }
  }

  // Reads the next chunk of the directory's entries and stats the ones that
  // are not directories (those are opened instead). False at the end.
  bool FillChunk(Frame& frame) {
    frame.chunk.clear();
    frame.next = 0;
    // No point reading past the entry budget.
    const uint64_t budget_left =
        options_.max_entries > entries_ ? options_.max_entries - entries_ : 0;
    const size_t limit =
        static_cast<size_t>(std::min<uint64_t>(kChunk, budget_left) + 1);
    while (!frame.exhausted && frame.chunk.size() < limit) {
      errno = 0;
      dirent* entry = readdir(frame.dir.get());
      if (entry == nullptr) {
        if (errno != 0)
          NoteError(
              absl::StrCat("reading ", frame.path, ": ", std::strerror(errno)));
        frame.exhausted = true;
        break;
      }
      const char* name = entry->d_name;
      if (name[0] == '.' &&
          (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
        continue;
      StatJob& job = frame.chunk.emplace_back();
      job.name = name;
      job.d_type = entry->d_type;
      job.needs_stat = entry->d_type != DT_DIR;
    }
    stat_pool_.StatAll(dirfd(frame.dir.get()), frame.chunk);
    return !frame.chunk.empty();
  }

  void VisitEntry(Frame& parent, const StatJob& entry) {
    const int parent_fd = dirfd(parent.dir.get());
    if (entry.d_type == DT_DIR ||
        (entry.error == 0 && S_ISDIR(entry.st.st_mode))) {
      // Open first and stat the descriptor: the directory cannot be swapped
      // for a symlink between the check and the open.
      int fd =
          openat(parent_fd, entry.name.c_str(),
                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
      if (fd < 0 && errno == EPERM) {
        fd = openat(parent_fd, entry.name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
      if (fd < 0) {
        if (errno != ENOENT) {  // removed meanwhile: not an error
          ++summary_.skipped_entries;
          NoteError(absl::StrCat(parent.path, "/", entry.name, ": ",
                                 std::strerror(errno)));
        }
        return;
      }
      EnterDirectory(parent, fd, entry.name);
      return;
    }
    if (entry.error != 0) {
      if (entry.error != ENOENT) {
        ++summary_.skipped_entries;
        NoteError(absl::StrCat(parent.path, "/", entry.name, ": ",
                               std::strerror(entry.error)));
      }
      return;
    }
    const struct stat& st = entry.st;
    ++summary_.files;
    if (st.st_nlink > 1 && !seen_links_.insert({st.st_dev, st.st_ino}).second)
      return;
    const uint64_t disk = DiskBytes(st);
    const uint64_t apparent =
        S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) ? st.st_size : 0;
    parent.disk_bytes += disk;
    parent.apparent_bytes += apparent;
    disk_scanned_ += disk;
    if (files_.WouldKeep(disk))
      files_.Offer(
          {absl::StrCat(parent.path, "/", entry.name), disk, apparent});
  }

  void EnterDirectory(Frame& parent, int fd, const std::string& name) {
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_dev != device_) {
      close(fd);
      ++summary_.skipped_entries;  // a mount point: `du -x` does not cross it
      return;
    }
    DIR* dir = fdopendir(fd);
    if (dir == nullptr) {
      close(fd);
      ++summary_.skipped_entries;
      return;
    }
    ++summary_.directories;
    disk_scanned_ += DiskBytes(st);
    std::string path = absl::StrCat(parent.path, "/", name);
    // `parent` is invalidated by the push below.
    stack_.push_back(Frame{std::unique_ptr<DIR, DirCloser>(dir),
                           std::move(path), DiskBytes(st),
                           static_cast<uint64_t>(st.st_size)});
  }

  void FinishTopFrame() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    if (stack_.empty()) {
      summary_.disk_bytes = frame.disk_bytes;
      summary_.apparent_bytes = frame.apparent_bytes;
    } else {
      stack_.back().disk_bytes += frame.disk_bytes;
      stack_.back().apparent_bytes += frame.apparent_bytes;
    }
    directories_.Offer(
        {std::move(frame.path), frame.disk_bytes, frame.apparent_bytes});
  }

  bool ShouldStop() {
    const absl::Time now = absl::Now();
    if (now >= options_.deadline) {
      Stop("deadline reached");
      return true;
    }
    if (options_.cancelled && options_.cancelled()) {
      Stop("cancelled by the caller");
      return true;
    }
    if (options_.on_progress && now >= next_progress_) {
      options_.on_progress({entries_, disk_scanned_, now - start_});
      next_progress_ = now + options_.progress_interval;
    }
    return false;
  }

  void Stop(std::string reason) {
    summary_.incomplete = true;
    summary_.incomplete_reason = std::move(reason);
  }

  void NoteError(std::string error) {
    if (summary_.errors.size() < kMaxErrors)
      summary_.errors.push_back(EscapeHostBytes(error));
  }

  const DiskUsageScanOptions& options_;
  StatPool stat_pool_;
  LargestN directories_;
  LargestN files_;
  const absl::Time start_;
  absl::Time next_progress_;
  dev_t device_ = 0;
  uint64_t entries_ = 0;
  uint64_t disk_scanned_ = 0;
  std::vector<Frame> stack_;
  absl::flat_hash_set<std::pair<dev_t, ino_t>> seen_links_;
  DiskUsageSummary summary_;
};

}  // namespace

absl::StatusOr<DiskUsageSummary> ScanDiskUsage(
    int directory_fd, const std::string& display_path,
    const DiskUsageScanOptions& options) {
  return Scanner(options).Run(directory_fd, display_path);
}

}  // namespace opsagent
