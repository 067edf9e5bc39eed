#ifndef OPSAGENT_CONTROLLER_COMMANDS_COMMAND_H_
#define OPSAGENT_CONTROLLER_COMMANDS_COMMAND_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/command_line.h"
#include "controller/invocation.h"
#include "controller/runbook/runbook_library.h"

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
  std::function<int(Invocation&, const ParsedArgs&)> run;
  // The --output formats it prints; any other is refused before it runs.
  std::vector<OutputFormat> outputs = {OutputFormat::kTable,
                                       OutputFormat::kJson};
};

// The operation `command` runs: the one agent.proto gives its name as verb
// ("mem" runs "memory"); nullptr for commands that run none (hosts, audit,
// runbook).
const OperationInfo* OperationOf(const Command& command);

// Whether `command` runs an operation that changes the host.
bool ChangesHost(const Command& command);

// That `commands` and agent.proto agree: every verb it declares has its
// command, and no two commands share a name. opsctl checks this at its
// start, as the agent checks its handlers: a build where they differ does
// not run.
absl::Status CheckCommandsAgainstDeclarations(
    const std::vector<Command>& commands);

// "opsctl: MESSAGE" where `invocation` prints its errors.
void PrintError(const Invocation& invocation, absl::string_view message);

// PrintError, then `exit_code`: how a command stops with an error.
int CommandFailed(const Invocation& invocation, int exit_code,
                  absl::string_view message);

// Every opsctl command, in the order --help lists them.
std::vector<Command> AllCommands();

// The command called `name` with `args` (what follows the name) parsed
// against its flags and the global ones, arguments counted. For running an
// opsctl invocation stored as data (a runbook step).
struct ParsedCommand {
  Command command;
  ParsedArgs args;
};
absl::StatusOr<ParsedCommand> ParseCommand(
    const std::vector<std::string>& argv);

// Checks a runbook step's opsctl arguments against the commands above: it
// parses, sets none of the run's own flags, and, if `automatic`, only reads
// (a vetted command's read_only is the agent's to check).
absl::Status ValidateRunbookStep(const std::vector<std::string>& args,
                                 bool automatic);
// The runbook entries in `directory`, each step checked so.
absl::StatusOr<RunbookLibrary> LoadRunbooks(const std::string& directory);

// Where --help lists a command: by group, then (for commands that run an
// operation) in agent.proto's order, then in its file's.
enum class CommandGroup {
  kHosts,
  kInspection,
  kChanges,
  kRunbooks,
  kIncidents,
  kAudit
};

// Adds what `commands` returns to AllCommands(); through the macros below,
// at start-up, from each command's own file.
bool RegisterCommands(CommandGroup group, std::vector<Command> (*commands)());

// In a command's file, at namespace scope, for a function returning its
// Command (OPSCTL_COMMAND) or a file's commands (OPSCTL_COMMANDS):
//   OPSCTL_COMMAND(kInspection, MemCommand);
#define OPSCTL_COMMAND(group, command)                                   \
  static const bool kRegistered##command = ::opsagent::RegisterCommands( \
      ::opsagent::CommandGroup::group,                                   \
      +[] { return std::vector<::opsagent::Command>{command()}; })
#define OPSCTL_COMMANDS(group, commands)    \
  static const bool kRegistered##commands = \
      ::opsagent::RegisterCommands(::opsagent::CommandGroup::group, &commands)

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_COMMAND_H_
