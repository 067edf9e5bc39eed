#ifndef OPSAGENT_CONTROLLER_CLI_CONFIRMATION_H_
#define OPSAGENT_CONTROLLER_CLI_CONFIRMATION_H_

#include <string>

#include "absl/status/status.h"

namespace opsagent {

// Asks `question` on the terminal ("Truncate ... on xq-1? [y/N]"): OK if
// the operator says yes, an error saying why otherwise. Without a terminal
// the answer is no: a script must say --yes (Invocation::Confirm).
absl::Status AskOnTerminal(const std::string& question);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_CLI_CONFIRMATION_H_
