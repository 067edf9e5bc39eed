#ifndef OPSAGENT_AGENT_OPS_MEMORY_H_
#define OPSAGENT_AGENT_OPS_MEMORY_H_

#include "absl/status/status.h"
#include "agent/ops/operation.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// "memory": what `free -h` shows plus the largest processes by RSS.
extern const OperationSpec kMemoryOperation;
absl::Status RunMemory(const OperationContext& context,
                       const v1::MemoryRequest& request,
                       v1::MemoryReply* reply);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_MEMORY_H_
