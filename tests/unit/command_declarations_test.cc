// opsctl's commands are bound to agent.proto's declarations, not to names
// typed twice: each operation's verb is a command, and what a command runs,
// whether it changes the host and its audit summary are read from there.

#include <algorithm>
#include <string>
#include <vector>

#include "common/operation_catalog.h"
#include "controller/commands/command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

TEST(CommandDeclarationsTest, EveryDeclaredVerbIsACommandRunningItsOperation) {
  const std::vector<Command> commands = AllCommands();
  EXPECT_TRUE(CheckCommandsAgainstDeclarations(commands).ok());
  int bound = 0;
  for (const Command& command : commands) {
    const OperationInfo* op = OperationOf(command);
    if (op == nullptr) continue;
    ++bound;
    EXPECT_EQ(op->verb, command.name);
    EXPECT_EQ(ChangesHost(command), op->mutating) << command.name;
  }
  // Every operation but the journal (read by `audit reconcile`).
  EXPECT_EQ(bound, static_cast<int>(AllOperations().size()) - 1);
}

TEST(CommandDeclarationsTest, AVerbWithoutItsCommandOrATwiceUsedNameIsRefused) {
  std::vector<Command> commands = AllCommands();
  std::vector<Command> missing;
  for (const Command& command : commands)
    if (command.name != "mem") missing.push_back(command);
  absl::Status without = CheckCommandsAgainstDeclarations(missing);
  EXPECT_FALSE(without.ok());
  EXPECT_THAT(without.message(), HasSubstr("memory"));
  EXPECT_THAT(without.message(), HasSubstr("mem"));
  commands.push_back(commands.back());
  absl::Status twice = CheckCommandsAgainstDeclarations(commands);
  EXPECT_FALSE(twice.ok());
  EXPECT_THAT(twice.message(), HasSubstr("two opsctl commands"));
}

TEST(CommandDeclarationsTest, OperationsAreFoundByTheirMessagesAndVerbs) {
  EXPECT_EQ(OperationFor<v1::MemoryRequest>().name, "memory");
  EXPECT_EQ(OperationFor<v1::DiskUsageEvent>().name, "disk_usage");
  EXPECT_EQ(FindOperationByVerb("status"),
            &OperationFor<v1::ServiceStatusRequest>());
  EXPECT_EQ(FindOperationByVerb(""), nullptr);
  EXPECT_EQ(FindOperationByVerb("memory"), nullptr);  // a name, not a verb
  EXPECT_TRUE(OperationFor<v1::RunCommandRequest>().read_only_per_declaration);
  EXPECT_FALSE(
      OperationFor<v1::TruncateLogRequest>().read_only_per_declaration);
}

}  // namespace
}  // namespace opsagent
