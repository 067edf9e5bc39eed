#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/operation_catalog.h"
#include "controller/commands/command.h"
#include "controller/output/terminal.h"

namespace opsagent {

void PrintError(const Invocation& invocation, absl::string_view message) {
  std::fprintf(invocation.err(), "opsctl: %s\n", Shown(message).c_str());
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

int CommandFailed(const Invocation& invocation, int exit_code,
                  absl::string_view message) {
  PrintError(invocation, message);
  return exit_code;
}

namespace {

struct Registered {
  CommandGroup group;
  std::vector<Command> (*commands)();
};

std::vector<Registered>& Registry() {
  static auto* registry = new std::vector<Registered>();
  return *registry;
}

// Where an operation's command goes in its group: agent.proto's order.
size_t DeclarationOrder(const Command& command) {
  const auto ops = AllOperations();
  const OperationInfo* op = OperationOf(command);
  return op == nullptr ? ops.size()
                       : std::find(ops.begin(), ops.end(), op) - ops.begin();
}

}  // namespace

bool RegisterCommands(CommandGroup group, std::vector<Command> (*commands)()) {
  Registry().push_back({group, commands});
  return true;
}

std::vector<Command> AllCommands() {
  std::vector<std::pair<CommandGroup, Command>> listed;
  for (const Registered& registered : Registry()) {
    for (Command& command : registered.commands())
      listed.emplace_back(registered.group, std::move(command));
  }
  std::stable_sort(listed.begin(), listed.end(),
                   [](const auto& a, const auto& b) {
                     return std::pair(a.first, DeclarationOrder(a.second)) <
                            std::pair(b.first, DeclarationOrder(b.second));
                   });
  std::vector<Command> commands;
  for (auto& [group, command] : listed) commands.push_back(std::move(command));
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
    if (args->Has("output")) {
      absl::StatusOr<OutputFormat> format =
          ParseOutputFormat(args->Get("output"));
      if (!format.ok()) return format.status();
      if (std::find(command.outputs.begin(), command.outputs.end(), *format) ==
          command.outputs.end()) {
        std::vector<std::string> names;
        for (OutputFormat output : command.outputs)
          names.emplace_back(OutputFormatName(output));
        return absl::InvalidArgumentError(absl::StrCat(
            "opsctl ", argv[0], " prints no ", args->Get("output"),
            "; --output takes ", absl::StrJoin(names, " or "), " here"));
      }
    }
    return ParsedCommand{std::move(command), *std::move(args)};
  }
  return absl::NotFoundError(absl::StrCat(
      "unknown command \"", argv[0], "\"; run `opsctl --help` for the list"));
}

}  // namespace opsagent
