#ifndef OPSAGENT_CONTROLLER_CLI_CONFIRMATION_H_
#define OPSAGENT_CONTROLLER_CLI_CONFIRMATION_H_

#include <string>

#include "absl/status/status.h"

namespace opsagent {

// Asks on the terminal before a change ("Truncate ... on xq-1? [y/N]").
// OK if the operator said yes, or `assume_yes` (--yes) was given; an error
// saying why otherwise. Without a terminal and without --yes the answer is
// no: a script must say --yes explicitly.
absl::Status ConfirmChange(const std::string& question, bool assume_yes);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_CLI_CONFIRMATION_H_
