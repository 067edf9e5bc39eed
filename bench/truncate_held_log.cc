// How long truncating a large log held open by a writer takes to give its
// space back: through the agent's LogTruncator (confine the path, open it
// O_PATH without following links, check it, reopen the checked inode, then
// ftruncate), against what coreutils `truncate -s 0` does (open the path,
// ftruncate). Both in this one process, the same work measured the same way,
// several repetitions each, alternating:
//   truncate_held_log DIR LOG_WRITER [SIZE_MIB [RUNS]]
// Three kinds of log: fallocated (unwritten extents), written and still in
// the page cache (a log written in the last minutes), and written but evicted
// from the cache (an old log, the usual 8 GB case). Prints a Markdown table.

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "agent/system/allowed_directory.h"
#include "agent/system/confined_path.h"
#include "agent/system/log_truncator.h"
#include "common/subprocess.h"

namespace {

enum class Kind { kFallocated, kCached, kEvicted };

uint64_t FreeBytes(const std::string& dir) {
  struct statvfs vfs;
  statvfs(dir.c_str(), &vfs);
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

bool MakeLog(const std::string& path, uint64_t size, Kind kind) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = true;
  if (kind == Kind::kFallocated) {
    ok = fallocate(fd, 0, 0, size) == 0;
  } else {
    const std::string chunk(1 << 20, 'x');
    for (uint64_t done = 0; ok && done < size; done += chunk.size())
      ok = write(fd, chunk.data(), chunk.size()) > 0;
  }
  fsync(fd);
  if (kind == Kind::kEvicted) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
  return ok;
}

// What coreutils `truncate -s 0 PATH` does.
bool TruncateLikeCoreutils(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ftruncate(fd, 0) == 0;
  close(fd);
  return ok;
}

bool TruncateLikeTheAgent(const std::string& dir, const std::string& path) {
  absl::StatusOr<opsagent::AllowedDirectory> root =
      opsagent::AllowedDirectory::Pin(dir);
  if (!root.ok()) return false;
  absl::StatusOr<opsagent::ConfinedPath> confined =
      opsagent::ConfinePath(path, {*root});
  if (!confined.ok()) return false;
  absl::StatusOr<opsagent::CheckedLog> log =
      opsagent::OpenLogForTruncation(*confined);
  return log.ok() && opsagent::TruncateCheckedLog(*log, 0).ok();
}

// Milliseconds until the space is back, with a writer holding the file; -1
// if it failed, the space did not come back or the writer died.
double Measure(const std::string& dir, const std::string& writer_binary,
               uint64_t size, Kind kind, bool agent) {
  const std::string path = dir + "/held.log";
  if (!MakeLog(path, size, kind)) return -1;
  absl::StatusOr<opsagent::Subprocess> writer =
      opsagent::Subprocess::Start({{writer_binary, path}});
  if (!writer.ok()) return -1;
  absl::SleepFor(absl::Milliseconds(100));
  const uint64_t free_before = FreeBytes(dir);
  const absl::Time start = absl::Now();
  const bool done =
      agent ? TruncateLikeTheAgent(dir, path) : TruncateLikeCoreutils(path);
  const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  const bool freed = FreeBytes(dir) >= free_before + size * 9 / 10;
  // Exited(), not kill(pid, 0): a dead child not yet reaped answers that.
  const bool alive = !writer->Exited();
  unlink(path.c_str());
  return done && freed && alive ? ms : -1;
}

struct Sample {
  double mean = 0, stddev = 0;
  bool failed = false;
};

Sample Summarize(const std::vector<double>& ms) {
  Sample s;
  for (double m : ms) {
    if (m < 0) s.failed = true;
    s.mean += m / ms.size();
  }
  for (double m : ms) s.stddev += (m - s.mean) * (m - s.mean) / ms.size();
  s.stddev = std::sqrt(s.stddev);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: truncate_held_log DIR LOG_WRITER [SIZE_MIB [RUNS]]\n");
    return 2;
  }
  const uint64_t size = (argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1024)
                        << 20;
  const int runs = argc > 4 ? std::atoi(argv[4]) : 3;
  std::printf(
      "| log of %llu MiB held open by a writer, %d runs each, in one process "
      "| opsagent LogTruncator | open + ftruncate (what coreutils `truncate "
      "-s 0` does) | ratio |\n",
      static_cast<unsigned long long>(size >> 20), runs);
  std::printf("| --- | --- | --- | --- |\n");
  for (auto [kind, name] :
       {std::pair{Kind::kFallocated, "fallocated (unwritten extents)"},
        {Kind::kEvicted, "written, not in page cache (an old log)"},
        {Kind::kCached, "written, all in page cache (a fresh log)"}}) {
    std::vector<double> ours, theirs;
    for (int run = 0; run < runs; ++run) {  // alternating, so drift is shared
      ours.push_back(Measure(argv[1], argv[2], size, kind, true));
      theirs.push_back(Measure(argv[1], argv[2], size, kind, false));
    }
    const Sample a = Summarize(ours), b = Summarize(theirs);
    if (a.failed || b.failed) {
      std::printf("| %s | FAILED | FAILED | - |\n", name);
      continue;
    }
    std::printf("| %s | %.1f ms ± %.1f | %.1f ms ± %.1f | %.2f |\n", name,
                a.mean, a.stddev, b.mean, b.stddev, a.mean / b.mean);
  }
  return 0;
}
