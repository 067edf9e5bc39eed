#ifndef OPSAGENT_AGENT_OPS_RESTART_SERVICE_H_
#define OPSAGENT_AGENT_OPS_RESTART_SERVICE_H_

#include "absl/status/status.h"
#include "agent/ops/operation.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// "restart_service": restarts an allow-listed systemd unit or supervisord
// program, retrying with backoff until it stays up for the settle period,
// then runs the configured post-checks (e.g. memory available).
extern const OperationSpec kRestartServiceOperation;
absl::Status RunRestartService(const OperationContext& context,
                               const v1::RestartServiceRequest& request,
                               v1::RestartServiceReply* reply);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_RESTART_SERVICE_H_
