#ifndef OPSAGENT_AGENT_OPS_INFO_H_
#define OPSAGENT_AGENT_OPS_INFO_H_

#include "absl/status/status.h"
#include "agent/ops/operation.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// "info": version, host name, roles, uptimes, certificate expiry, and what
// the caller is allowed to do here.
extern const OperationSpec kInfoOperation;
absl::Status RunInfo(const OperationContext& context,
                     const v1::InfoRequest& request, v1::InfoReply* reply);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_INFO_H_
