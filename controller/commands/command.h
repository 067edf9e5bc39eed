#ifndef OPSAGENT_CONTROLLER_COMMANDS_COMMAND_H_
#define OPSAGENT_CONTROLLER_COMMANDS_COMMAND_H_

#include <functional>
#include <string>
#include <vector>

#include "controller/cli/command_line.h"
#include "controller/session.h"

namespace opsagent {

// An opsctl subcommand: what --help shows about it, the flags it adds to the
// global ones, and what it does. `run` returns the process exit code.
struct Command {
  std::string name;
  std::string arguments;  // "HOST PATH"
  std::string summary;    // one line for the command list
  std::string details;    // paragraphs and examples for `opsctl NAME --help`
  std::vector<FlagSpec> flags;
  size_t min_args = 0;
  size_t max_args = 0;
  std::function<int(Session&, const ParsedArgs&)> run;
};

// Each returns the commands of one file in commands/.
std::vector<Command> InspectionCommands();  // info, mem, df, du, open-deleted
std::vector<Command> InventoryCommands();   // hosts
std::vector<Command> AuditCommands();       // audit
std::vector<Command> ChangeCommands();      // truncate, restart

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_COMMAND_H_
