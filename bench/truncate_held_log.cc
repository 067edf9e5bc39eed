// How long truncating a large log held open by a writer takes to give its
// space back, through the agent's LogTruncator and, for comparison in the
// same run, through coreutils `truncate -s 0`:
//   truncate_held_log DIR LOG_WRITER [SIZE_MIB]
// Three kinds of log: fallocated (unwritten extents), written and still in
// the page cache (a log written in the last minutes), and written but evicted
// from the cache (an old log, the usual 8 GB case).

#include <fcntl.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
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

// Milliseconds until the space is back, with a writer holding the file.
double Measure(const std::string& dir, const std::string& writer_binary,
               uint64_t size, Kind kind, bool coreutils) {
  const std::string path = dir + "/held.log";
  if (!MakeLog(path, size, kind)) return -1;
  absl::StatusOr<opsagent::Subprocess> writer =
      opsagent::Subprocess::Start({{writer_binary, path}});
  if (!writer.ok()) return -1;
  absl::SleepFor(absl::Milliseconds(100));
  const uint64_t free_before = FreeBytes(dir);
  const absl::Time start = absl::Now();
  if (coreutils) {
    if (!opsagent::RunCommand({"/usr/bin/truncate", "-s", "0", path},
                              absl::Seconds(60))
             .ok())
      return -1;
  } else {
    absl::StatusOr<opsagent::AllowedDirectory> root =
        opsagent::AllowedDirectory::Pin(dir);
    if (!root.ok()) return -1;
    absl::StatusOr<opsagent::ConfinedPath> confined =
        opsagent::ConfinePath(path, {*root});
    absl::StatusOr<opsagent::CheckedLog> log =
        opsagent::OpenLogForTruncation(*confined);
    if (!log.ok() || !opsagent::TruncateCheckedLog(*log, 0).ok()) return -1;
  }
  const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  const bool freed = FreeBytes(dir) >= free_before + size * 9 / 10;
  const bool alive = kill(writer->pid(), 0) == 0;
  unlink(path.c_str());
  return freed && alive ? ms : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: truncate_held_log DIR LOG_WRITER [SIZE_MIB]\n");
    return 2;
  }
  const uint64_t size = (argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 2048)
                        << 20;
  std::printf(
      "| log of %llu MiB held open by a writer | opsagent LogTruncator | "
      "coreutils `truncate -s 0` | ratio |\n",
      static_cast<unsigned long long>(size >> 20));
  std::printf("| --- | --- | --- | --- |\n");
  for (auto [kind, name] :
       {std::pair{Kind::kFallocated, "fallocated (unwritten extents)"},
        {Kind::kEvicted, "written, not in page cache (an old log)"},
        {Kind::kCached, "written, all in page cache (a fresh log)"}}) {
    const double ours = Measure(argv[1], argv[2], size, kind, false);
    const double theirs = Measure(argv[1], argv[2], size, kind, true);
    std::printf("| %s | %.1f ms | %.1f ms | %.2f |\n", name, ours, theirs,
                ours / theirs);
  }
  return 0;
}
