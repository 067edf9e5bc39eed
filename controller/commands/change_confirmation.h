#ifndef OPSAGENT_CONTROLLER_COMMANDS_CHANGE_CONFIRMATION_H_
#define OPSAGENT_CONTROLLER_COMMANDS_CHANGE_CONFIRMATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "controller/command_line.h"
#include "controller/invocation.h"

namespace opsagent {

// What every command that changes a host shares: its --yes and --dry-run
// flags, and the question asked before the change.

const FlagSpec& YesFlag();
const FlagSpec& DryRunFlag();

// Asks before a change `what` ("Truncate /var/log/x.log") on `target` (or
// needs --yes), unless it is a dry run. A person is asked about hosts by
// name: an expression ("role:salt-master") is resolved first and `target`
// becomes exactly the hosts named in the question, so the change acts on
// what was agreed to, not on what the expression selects a minute later.
absl::Status ConfirmOnHosts(Invocation& invocation, const ParsedArgs& args,
                            absl::string_view what, std::string* target);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_CHANGE_CONFIRMATION_H_
