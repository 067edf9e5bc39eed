// Times the agent's disk-usage scanner alone (no TLS, no process start-up)
// on a directory, to compare with `du -x -s DIR` in bench/run_benchmarks.sh.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "absl/time/clock.h"
#include "agent/system/disk_usage_scanner.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: scan_tree DIR\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<opsagent::DiskUsageSummary> summary =
      opsagent::ScanDiskUsage(fd, argv[1], {});
  const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  close(fd);
  if (!summary.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(summary.status().message()).c_str());
    return 1;
  }
  std::printf("%llu bytes, %llu files, %llu directories in %.1f ms\n",
              static_cast<unsigned long long>(summary->disk_bytes),
              static_cast<unsigned long long>(summary->files),
              static_cast<unsigned long long>(summary->directories), ms);
  return 0;
}
