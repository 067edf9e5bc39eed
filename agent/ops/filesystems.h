#ifndef OPSAGENT_AGENT_OPS_FILESYSTEMS_H_
#define OPSAGENT_AGENT_OPS_FILESYSTEMS_H_

#include "absl/status/status.h"
#include "agent/ops/operation.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// "filesystems": what `df -h` shows, from mountinfo and statvfs.
extern const OperationSpec kFilesystemsOperation;
absl::Status RunFilesystems(const OperationContext& context,
                            const v1::FilesystemsRequest& request,
                            v1::FilesystemsReply* reply);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_FILESYSTEMS_H_
