// opsctl: the on-call controller for opsagent. Runs vetted operations on
// hosts over mutual TLS and records every action in a SQLite audit log.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/operation_catalog.h"
#include "common/process_setup.h"
#include "common/version.h"
#include "controller/cli/confirmation.h"
#include "controller/commands/command.h"
#include "controller/exit_codes.h"
#include "controller/output/terminal.h"
#include "grpc/support/log.h"

namespace opsagent {
namespace {

void PrintUsage(const std::vector<Command>& commands) {
  std::printf(
      "opsctl %s: run vetted operations on opsagent hosts, with every action "
      "audited.\n\n",
      kVersion);
  std::printf("Usage: opsctl COMMAND [ARGS] [FLAGS]\n\nCommands:\n");
  for (const Command& c : commands) {
    std::printf("  %-20s %s\n", absl::StrCat(c.name, " ", c.arguments).c_str(),
                c.summary.c_str());
  }
  std::printf("\nGlobal flags (any command):\n%s",
              FlagHelp(Invocation::GlobalFlags()).c_str());
  std::printf(
      "\nExit codes: 0 ok, 1 operation failed, 2 usage or config error, 3 "
      "denied,\n"
      "            4 agent unreachable, 5 audit log unavailable or your\n"
      "            write budget on it spent (nothing sent),\n"
      "            6 outcome unknown (connection lost after sending),\n"
      "            7 a check failed (--min-available, --fail-above).\n\n"
      "Run `opsctl COMMAND --help` for a command's details and examples.\n");
}

void PrintCommandHelp(const Command& c) {
  std::printf("Usage: opsctl %s %s [FLAGS]\n\n%s\n%s", c.name.c_str(),
              c.arguments.c_str(), c.summary.c_str(),
              c.details.empty() ? "" : absl::StrCat("\n", c.details).c_str());
  if (const OperationInfo* op = OperationOf(c); op != nullptr) {
    std::printf(
        "\nOperation: %s (%s; the name agents' authorization rules and the "
        "audit log use)\n",
        op->name.c_str(),
        op->read_only_per_declaration ? "read-only if its declaration says so"
        : op->mutating                ? "changes the host"
                                      : "read-only");
  }
  if (!c.flags.empty()) std::printf("\nFlags:\n%s", FlagHelp(c.flags).c_str());
  std::printf("\nGlobal flags:\n%s",
              FlagHelp(Invocation::GlobalFlags()).c_str());
}

// Moves the command name to the front: global flags may come before it
// ("opsctl --config X mem HOST") as well as after.
std::vector<std::string> CommandFirst(std::vector<std::string> args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("-", 0) != 0) {
      std::string command = arg;
      args.erase(args.begin() + i);
      args.insert(args.begin(), command);
      break;
    }
    if (arg.find('=') != std::string::npos) continue;
    for (const FlagSpec& flag : Invocation::GlobalFlags()) {
      if (arg == "--" + flag.name && !flag.value_name.empty())
        ++i;  // skip its value
    }
  }
  return args;
}

int Main(int argc, char** argv) {
  GuardStandardStreams();
  DisableMutexDeadlockDetection();
  // gRPC's own log lines ("cancel_check_peer error: ...") say nothing an
  // operator can act on; every failure reaches them as a call status. Set
  // GRPC_VERBOSITY to see them anyway.
  if (std::getenv("GRPC_VERBOSITY") == nullptr)
    gpr_set_log_function([](gpr_log_func_args*) {});
  const std::vector<Command> commands = AllCommands();
  // A build whose commands and agent.proto disagree does not run.
  if (absl::Status declared = CheckCommandsAgainstDeclarations(commands);
      !declared.ok()) {
    std::fprintf(stderr, "opsctl: %s\n",
                 std::string(declared.message()).c_str());
    std::abort();
  }
  std::vector<std::string> args = CommandFirst({argv + 1, argv + argc});
  if (args.empty() || args[0] == "--help" || args[0] == "-h" ||
      args[0] == "help") {
    if (args.size() >= 2 && args[0] == "help") {
      for (const Command& c : commands) {
        if (c.name == args[1]) {
          PrintCommandHelp(c);
          return kExitOk;
        }
      }
    }
    PrintUsage(commands);
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("opsctl %s\n", kVersion);
    return kExitOk;
  }
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s%s\n",
                 absl::IsNotFound(parsed.status()) ? "opsctl: " : "",
                 std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  if (parsed->args.Has("help")) {
    PrintCommandHelp(parsed->command);
    return kExitOk;
  }
  absl::StatusOr<std::unique_ptr<Invocation>> invocation =
      Invocation::FromArgs(parsed->args);
  if (!invocation.ok()) {
    std::fprintf(stderr, "opsctl: %s\n",
                 std::string(invocation.status().message()).c_str());
    return kExitUsage;
  }
  (*invocation)->set_asker(&AskOnTerminal);
  return parsed->command.run(**invocation, parsed->args);
}

}  // namespace
}  // namespace opsagent

int main(int argc, char** argv) { return opsagent::Main(argc, argv); }
