#ifndef OPSAGENT_CONTROLLER_SERVER_OPSCTLD_CONFIG_H_
#define OPSAGENT_CONTROLLER_SERVER_OPSCTLD_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/address_range.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// Reads and validates opsctld's configuration (a file only root or its own
// user may change), filling in defaults. Errors name the file and the field
// ("opsctld.textproto: config field tls.certificate: is required").
absl::StatusOr<v1::OpsctldConfig> LoadOpsctldConfig(const std::string& path);

// Its access rules: at least one; each names identities or roles and
// permissions, and each permission is one a Controller RPC declares
// (rpc_permission.h) or "*". INVALID_ARGUMENT naming the rule otherwise.
absl::Status CheckAccessRules(const v1::OpsctldConfig& config);

// The same checks on a configuration already parsed (for tests).
absl::StatusOr<v1::OpsctldConfig> CompileOpsctldConfig(
    v1::OpsctldConfig config);

// The parsed vouched_networks; refuses one that does not parse or is wider
// than a /8 (IPv4) or a /32 (IPv6), naming it.
absl::StatusOr<std::vector<AddressRange>> VouchedNetworks(
    const v1::OpsctldConfig& config);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_OPSCTLD_CONFIG_H_
