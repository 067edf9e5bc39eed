#ifndef OPSAGENT_AGENT_OPS_RUN_COMMAND_H_
#define OPSAGENT_AGENT_OPS_RUN_COMMAND_H_

#include <functional>

#include "absl/status/status.h"
#include "agent/ops/operation.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// "run_command": runs a command declared in the agent configuration, its
// argv built from the template and validated parameters; streams output as
// events and fills `result`. A non-zero exit is an error status.
extern const OperationSpec kRunCommandOperation;
absl::Status RunVettedCommand(
    const OperationContext& context, const v1::RunCommandRequest& request,
    const std::function<bool(const v1::RunCommandEvent&)>& emit,
    v1::CommandResult* result);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_RUN_COMMAND_H_
