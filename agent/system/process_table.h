#ifndef OPSAGENT_AGENT_SYSTEM_PROCESS_TABLE_H_
#define OPSAGENT_AGENT_SYSTEM_PROCESS_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace opsagent {

// One process's resident memory, as `ps -o pid,comm,rss` would show it.
struct ProcessRss {
  pid_t pid = 0;
  std::string name;  // /proc/PID/comm
  uint64_t rss_bytes = 0;
  uint32_t uid = 0;
};

// The `limit` processes with the largest resident set, largest first (equal
// sizes by pid), read from the procfs mounted at `proc_root`. Processes that
// exit while being read are skipped.
//
// Cost, for `opsctl mem` on a host with many processes: `proc_root` is
// opened once and its top level listed (processes only; nothing under
// /proc/PID/task is read), each process's statm is read relative to that
// descriptor into one buffer, and only the `limit` largest are kept as they
// come (no allocation per process); comm and the owner are read for those
// alone.
absl::StatusOr<std::vector<ProcessRss>> LargestProcessesByRss(
    size_t limit, const std::string& proc_root = "/proc");

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_PROCESS_TABLE_H_
