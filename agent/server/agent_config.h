#ifndef OPSAGENT_AGENT_SERVER_AGENT_CONFIG_H_
#define OPSAGENT_AGENT_SERVER_AGENT_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "agent/ops/operation.h"
#include "opsagent/v1/agent_config.pb.h"

namespace opsagent {

// Reads the agent configuration (Protobuf text format) from a trusted file
// (CheckTrustedPath), fills defaults, validates it and pins the directories
// it names. Errors name the field and say what is wrong, so that a bad
// configuration stops the agent at start-up with an actionable message.
// The environment's started_at and version are left for the caller.
absl::StatusOr<AgentEnvironment> LoadAgentConfig(const std::string& path);

// Checks the agent's own key and certificate (tls.private_key and
// tls.certificate): trusted paths, a host certificate with serverAuth and
// clientAuth and a DNS name. CompileAgentConfig does this unless the agent
// enrolls, which checks them after enrolling.
absl::Status CheckAgentIdentityFiles(const v1::AgentConfig& config);

// The same for a parsed configuration; `path` (may be empty) is the file it
// came from, which truncatable_logs must not cover either.
absl::StatusOr<AgentEnvironment> CompileAgentConfig(
    v1::AgentConfig config, const std::string& path = "");

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_AGENT_CONFIG_H_
