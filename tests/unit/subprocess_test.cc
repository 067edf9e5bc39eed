#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Whether `pid` is still a live process (not gone, not a zombie).
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() &&
         line[paren + 2] != 'Z';
}

pid_t FirstNumber(const std::string& text) {
  pid_t pid = 0;
  for (absl::string_view word : absl::StrSplit(text, absl::ByAnyChar(" \n"))) {
    if (absl::SimpleAtoi(word, &pid)) return pid;
  }
  return 0;
}

TEST(SubprocessTest, ArgumentsReachTheProgramVerbatimWithoutAShell) {
  absl::StatusOr<ProgramResult> r = RunProgram(
      {"/bin/echo", "salt-master; reboot", "$(id)", "*"}, absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_text, "salt-master; reboot $(id) *\n");
}

TEST(SubprocessTest, ReportsExitCodesAndStderr) {
  absl::StatusOr<ProgramResult> r =
      RunProgram({"/bin/ls", "/does/not/exist"}, absl::Seconds(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_NE(r->stderr_text.find("No such file"), std::string::npos);
}

TEST(SubprocessTest, KillsProgramsThatOutstayTheirTimeout) {
  const absl::Time start = absl::Now();
  absl::StatusOr<ProgramResult> r =
      RunProgram({"/bin/sleep", "30"}, absl::Milliseconds(200));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(SubprocessTest, CapsCapturedOutput) {
  absl::StatusOr<ProgramResult> r = RunProgram(
      {"/usr/bin/head", "-c", "100000", "/dev/zero"}, absl::Seconds(10), 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_text.size(), 1000u);
  EXPECT_TRUE(r->output_truncated);
}

TEST(SubprocessTest, RefusesWhatCannotBeRun) {
  EXPECT_FALSE(RunProgram({}, absl::Seconds(1)).ok());
  EXPECT_FALSE(RunProgram({"/no/such/program"}, absl::Seconds(1)).ok());
  EXPECT_FALSE(
      RunProgram({"/bin/echo", std::string("a\0b", 3)}, absl::Seconds(1)).ok());
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

namespace opsagent {
namespace {

// `sh -c "sleep 300 & ..."` leaves a background job holding the pipes: the
// call must still end when sh does, and the job must not outlive it.
TEST(SubprocessTest, WhatTheCommandLeftRunningIsKilledWhenItExits) {
  const absl::Time start = absl::Now();
  absl::StatusOr<ProgramResult> r = RunProgram(
      {"/bin/sh", "-c", "sleep 300 & echo background $!"}, absl::Seconds(60));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(r->exit_code, 0);
  const pid_t background = FirstNumber(r->stdout_text);
  ASSERT_GT(background, 0) << r->stdout_text;
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(Alive(background));
}

TEST(SubprocessTest, ATimeoutKillsEveryProcessTheCommandStarted) {
  const std::string marker =
      std::string(std::getenv("TEST_TMPDIR")) + "/background.pid";
  absl::StatusOr<ProgramResult> r = RunProgram(
      {"/bin/sh", "-c", "sleep 300 & echo $! > " + marker + "; sleep 300"},
      absl::Milliseconds(500));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(r.status().message(), HasSubstr("every process it started"));
  std::ifstream in(marker);
  std::stringstream text;
  text << in.rdbuf();
  const pid_t background = FirstNumber(text.str());
  ASSERT_GT(background, 0);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(Alive(background));
}

TEST(SubprocessTest, ChildrenGetAFixedEnvironmentAndOnlyStandardDescriptors) {
  setenv("OPSAGENT_TEST_SECRET", "hunter2", 1);
  const int opened = open("/dev/null", O_RDONLY);
  const int leaked = dup2(opened, 100);  // dup2: no O_CLOEXEC
  close(opened);
  ASSERT_EQ(leaked, 100);
  absl::StatusOr<ProgramResult> env =
      RunProgram({"/usr/bin/env"}, absl::Seconds(10));
  ASSERT_TRUE(env.ok());
  EXPECT_THAT(env->stdout_text, Not(HasSubstr("hunter2")));
  EXPECT_EQ(env->stdout_text,
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C.UTF-8\n");
  absl::StatusOr<ProgramResult> fds =
      RunProgram({"/bin/ls", "/proc/self/fd"}, absl::Seconds(10));
  ASSERT_TRUE(fds.ok());
  // ls itself holds one more, for the directory it lists.
  std::vector<std::string> open_fds = absl::StrSplit(
      absl::StripTrailingAsciiWhitespace(fds->stdout_text), '\n');
  EXPECT_EQ(open_fds.size(), 4u) << fds->stdout_text;
  EXPECT_THAT(open_fds, Not(::testing::Contains(std::to_string(leaked))));
  close(leaked);
  unsetenv("OPSAGENT_TEST_SECRET");
}

}  // namespace
}  // namespace opsagent
