#include "common/subprocess.h"

#include <signal.h>

#include "gtest/gtest.h"

namespace opsagent {
namespace {

TEST(SubprocessTest, ArgumentsReachTheProgramVerbatimWithoutAShell) {
  absl::StatusOr<CommandResult> r = RunCommand(
      {"/bin/echo", "salt-master; reboot", "$(id)", "*"}, absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_text, "salt-master; reboot $(id) *\n");
}

TEST(SubprocessTest, ReportsExitCodesAndStderr) {
  absl::StatusOr<CommandResult> r =
      RunCommand({"/bin/ls", "/does/not/exist"}, absl::Seconds(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_NE(r->stderr_text.find("No such file"), std::string::npos);
}

TEST(SubprocessTest, KillsProgramsThatOutstayTheirTimeout) {
  const absl::Time start = absl::Now();
  absl::StatusOr<CommandResult> r =
      RunCommand({"/bin/sleep", "30"}, absl::Milliseconds(200));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(SubprocessTest, CapsCapturedOutput) {
  absl::StatusOr<CommandResult> r = RunCommand(
      {"/usr/bin/head", "-c", "100000", "/dev/zero"}, absl::Seconds(10), 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_text.size(), 1000u);
  EXPECT_TRUE(r->output_truncated);
}

TEST(SubprocessTest, RefusesWhatCannotBeRun) {
  EXPECT_FALSE(RunCommand({}, absl::Seconds(1)).ok());
  EXPECT_FALSE(RunCommand({"/no/such/program"}, absl::Seconds(1)).ok());
  EXPECT_FALSE(
      RunCommand({"/bin/echo", std::string("a\0b", 3)}, absl::Seconds(1)).ok());
}

TEST(SubprocessTest, DestroyingARunningProcessKillsIt) {
  pid_t pid;
  {
    absl::StatusOr<Subprocess> sleeper =
        Subprocess::Start({{"/bin/sleep", "30"}});
    ASSERT_TRUE(sleeper.ok());
    pid = sleeper->pid();
    EXPECT_EQ(kill(pid, 0), 0);
  }
  EXPECT_EQ(kill(pid, 0), -1);  // gone and reaped
}

}  // namespace
}  // namespace opsagent
