#ifndef OPSAGENT_AGENT_SERVER_AGENT_CONFIG_H_
#define OPSAGENT_AGENT_SERVER_AGENT_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "opsagent/v1/agent_config.pb.h"

namespace opsagent {

// Reads the agent configuration (Protobuf text format), fills defaults and
// validates it. Errors name the field and say what is wrong, so that a bad
// configuration stops the agent at start-up with an actionable message.
absl::StatusOr<v1::AgentConfig> LoadAgentConfig(const std::string& path);

// Fills defaults into a parsed configuration and validates it.
absl::StatusOr<v1::AgentConfig> FinalizeAgentConfig(v1::AgentConfig config);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_AGENT_CONFIG_H_
