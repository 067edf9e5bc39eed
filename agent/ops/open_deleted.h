#ifndef OPSAGENT_AGENT_OPS_OPEN_DELETED_H_
#define OPSAGENT_AGENT_OPS_OPEN_DELETED_H_

#include "absl/status/status.h"
#include "agent/ops/operation.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// "open_deleted": files deleted but still held open (`lsof +L1`), largest
// first: space only a restart of the holder (or truncation) gives back.
extern const OperationSpec kOpenDeletedOperation;
absl::Status RunOpenDeleted(const OperationContext& context,
                            const v1::OpenDeletedRequest& request,
                            v1::OpenDeletedReply* reply);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_OPEN_DELETED_H_
