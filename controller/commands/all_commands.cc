#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/operation_catalog.h"
#include "controller/commands/command.h"
#include "controller/output/terminal.h"

namespace opsagent {

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "opsctl: %s\n", Shown(message).c_str());
}

const OperationInfo* OperationOf(const Command& command) {
  return FindOperationByVerb(command.name);
}

bool ChangesHost(const Command& command) {
  const OperationInfo* op = OperationOf(command);
  return op != nullptr && op->mutating;
}

absl::Status CheckCommandsAgainstDeclarations(
    const std::vector<Command>& commands) {
  absl::flat_hash_set<std::string> names;
  for (const Command& command : commands) {
    if (!names.insert(command.name).second)
      return absl::InternalError(
          absl::StrCat("two opsctl commands are called ", command.name));
  }
  for (const OperationInfo* op : AllOperations()) {
    if (!op->verb.empty() && !names.contains(op->verb))
      return absl::InternalError(
          absl::StrCat("agent.proto gives ", op->name, " the verb ", op->verb,
                       " and no opsctl command has that name"));
  }
  return absl::OkStatus();
}

int CommandFailed(int exit_code, absl::string_view message) {
  PrintError(message);
  return exit_code;
}

std::vector<Command> AllCommands() {
  std::vector<Command> commands;
  for (auto group : {InventoryCommands, InspectionCommands, ChangeCommands,
                     RunbookCommands, IncidentCommands, AuditCommands}) {
    for (Command& command : group()) commands.push_back(std::move(command));
  }
  return commands;
}

absl::StatusOr<ParsedCommand> ParseCommand(
    const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("no command");
  for (Command& command : AllCommands()) {
    if (command.name != argv[0]) continue;
    std::vector<FlagSpec> flags = Invocation::GlobalFlags();
    flags.insert(flags.end(), command.flags.begin(), command.flags.end());
    absl::StatusOr<ParsedArgs> args =
        ParseArgs({argv.begin() + 1, argv.end()}, flags);
    if (!args.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("opsctl ", argv[0], ": ", args.status().message()));
    const size_t n = args->positional().size();
    // --help is answered whatever the arguments.
    if (!args->Has("help") && (n < command.min_args || n > command.max_args)) {
      return absl::InvalidArgumentError(
          absl::StrCat("opsctl ", argv[0], ": expected arguments: ",
                       command.arguments.empty() ? "none" : command.arguments,
                       "\nusage: opsctl ", argv[0], " ", command.arguments,
                       " [FLAGS] (see --help)"));
    }
    return ParsedCommand{std::move(command), *std::move(args)};
  }
  return absl::NotFoundError(absl::StrCat(
      "unknown command \"", argv[0], "\"; run `opsctl --help` for the list"));
}

}  // namespace opsagent
