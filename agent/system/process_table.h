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

// The `limit` processes with the largest resident set, largest first, read
// from the procfs mounted at `proc_root`. Processes that exit while being
// read are skipped.
absl::StatusOr<std::vector<ProcessRss>> LargestProcessesByRss(
    size_t limit, const std::string& proc_root = "/proc");

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_PROCESS_TABLE_H_
