#ifndef OPSAGENT_CONTROLLER_OPERATOR_CONFIG_H_
#define OPSAGENT_CONTROLLER_OPERATOR_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

// Where the operator configuration is looked for, first match wins:
// `flag_path`, $OPSCTL_CONFIG, $XDG_CONFIG_HOME/opsctl/config.textproto
// (~/.config/opsctl/config.textproto), and when that does not exist,
// /etc/opsctl/config.textproto if it does.
std::string OperatorConfigPath(const std::string& flag_path);

// Loads the operator configuration. Relative paths inside are resolved
// against the file's directory; the audit database defaults to
// $XDG_STATE_HOME/opsctl/audit.db and the inventory to inventory.textproto
// beside the config file. `controller` and each of `more_controllers` must
// be HOST:PORT, each listed once; their names default to the host part.
absl::StatusOr<v1::OperatorConfig> LoadOperatorConfig(const std::string& path);

// The controller checks of LoadOperatorConfig, on their own: fills in the
// names, or says which field of `path` is wrong and how. OK without any
// controller (the inventory and --direct then).
absl::Status CheckControllers(const std::string& path,
                              v1::OperatorConfig* config);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_OPERATOR_CONFIG_H_
