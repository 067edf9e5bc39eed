#ifndef OPSAGENT_AGENT_OPS_DISK_USAGE_H_
#define OPSAGENT_AGENT_OPS_DISK_USAGE_H_

#include <functional>

#include "absl/status/status.h"
#include "agent/ops/operation.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// "disk_usage": what `du -x | sort -hr | head` shows under an inspection
// root, bounded by an entry budget and a deadline; emits progress events and
// then exactly one result event.
extern const OperationSpec kDiskUsageOperation;
absl::Status RunDiskUsage(
    const OperationContext& context, const v1::DiskUsageRequest& request,
    const std::function<bool(const v1::DiskUsageEvent&)>& emit);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_DISK_USAGE_H_
