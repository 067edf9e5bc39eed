#ifndef OPSAGENT_AGENT_SYSTEM_PROC_FILE_H_
#define OPSAGENT_AGENT_SYSTEM_PROC_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace opsagent {

// Reads a whole small file such as /proc/meminfo with plain read(2) calls
// (procfs files report size 0, so the length is not known up front).
absl::StatusOr<std::string> ReadProcFile(const std::string& path);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_PROC_FILE_H_
