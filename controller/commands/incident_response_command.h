#ifndef OPSAGENT_CONTROLLER_COMMANDS_INCIDENT_RESPONSE_COMMAND_H_
#define OPSAGENT_CONTROLLER_COMMANDS_INCIDENT_RESPONSE_COMMAND_H_

#include "absl/strings/string_view.h"
#include "controller/command_line.h"
#include "controller/invocation.h"

namespace opsagent {

// `opsctl incident ack|note|resolve|reopen|silence|unsilence ID ...`: what
// on-call does with an incident, sent to the controller (RespondToIncident),
// which records it in the team's log.

// Whether `verb` is one of them.
bool IsIncidentResponse(absl::string_view verb);

// Runs `opsctl incident VERB ID ...` (args.positional() starts with the
// verb); the exit code.
int RunIncidentResponse(Invocation& invocation, const ParsedArgs& args);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_INCIDENT_RESPONSE_COMMAND_H_
