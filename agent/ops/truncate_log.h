#ifndef OPSAGENT_AGENT_OPS_TRUNCATE_LOG_H_
#define OPSAGENT_AGENT_OPS_TRUNCATE_LOG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/ops/operation.h"
#include "agent/system/confined_path.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// "truncate_log": empties (or keeps the tail of) an allow-listed log file in
// place, through the descriptor that was checked, and reports the space
// freed and who holds the file open. Never unlinks.
extern const OperationSpec kTruncateLogOperation;
absl::Status RunTruncateLog(const OperationContext& context,
                            const v1::TruncateLogRequest& request,
                            v1::TruncateLogReply* reply);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_TRUNCATE_LOG_H_
