#ifndef OPSAGENT_CONTROLLER_COMMANDS_AUDIT_RECONCILE_H_
#define OPSAGENT_CONTROLLER_COMMANDS_AUDIT_RECONCILE_H_

#include "controller/command_line.h"
#include "controller/invocation.h"

namespace opsagent {

// `opsctl audit reconcile [--since WHEN] [--host TARGET]`: reads each
// agent's journal through the controller (the read-only operation
// "journal"), checks that the host signed it, and compares it call by call
// with the team's log (controller/audit/reconcile.h). Returns the exit
// code: 0 when the witnesses agree, 7 for discrepancies.
int RunAuditReconcile(Invocation& invocation, const ParsedArgs& args);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_AUDIT_RECONCILE_H_
