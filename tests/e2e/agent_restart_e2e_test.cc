// The agent killed and started again while a disk-usage scan streams to
// opsctl: the operator gets a clear failure for that scan (never a partial
// result presented as complete), the audit says it did not succeed, and the
// restarted agent serves the same scan in full.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_agent.h"

namespace opsagent {
namespace {

using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestAgent;
using ::testing::HasSubstr;
using ::testing::Not;

// 300 directories of 300 small files: a scan long enough to be cut.
void MakeTree(const std::string& root) {
  mkdir(root.c_str(), 0755);
  for (int d = 0; d < 300; ++d) {
    const std::string dir = absl::StrCat(root, "/d", d);
    mkdir(dir.c_str(), 0755);
    for (int f = 0; f < 300; ++f) {
      const int fd = open(absl::StrCat(dir, "/f", f).c_str(),
                          O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(write(fd, "x", 1), 1);
      close(fd);
    }
  }
}

TEST(AgentRestartE2eTest, AScanCutByAnAgentRestartFailsClearlyAndThenWorks) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string tree = dir + "/tree";
  MakeTree(tree);
  auto agent = TestAgent::Start(
      dir, "localhost", absl::StrCat("inspection_roots: \"", tree, "\"\n"));
  ASSERT_TRUE(agent.ok()) << agent.status();
  auto opsctl = (*agent)->Oncall("alice");

  absl::StatusOr<Subprocess> scan = opsctl->Start(
      {"du", "localhost", tree}, dir + "/cut.out", dir + "/cut.err");
  ASSERT_TRUE(scan.ok()) << scan.status();
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (!absl::StrContains((*agent)->process->Log(), "start disk_usage") &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Microseconds(500));
  }
  ASSERT_TRUE(absl::StrContains((*agent)->process->Log(), "start disk_usage"));
  ASSERT_TRUE((*agent)->Restart().ok());
  absl::StatusOr<int> exit_code = scan->Wait(absl::Seconds(60));
  ASSERT_TRUE(exit_code.ok());

  const std::string out = ReadFileOrDie(dir + "/cut.out");
  const std::string err = ReadFileOrDie(dir + "/cut.err");
  EXPECT_NE(*exit_code, 0) << out << err;
  EXPECT_THAT(err, HasSubstr("localhost"));
  EXPECT_THAT(out, Not(HasSubstr("/d1")));  // no partial table
  std::vector<v1::AuditEntry> rows = opsctl->AuditRows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0].outcome(), v1::OUTCOME_OK);
  EXPECT_NE(rows[0].outcome(), v1::OUTCOME_PENDING);

  // The restarted agent answers the same scan in full.
  ProgramResult again =
      opsctl->Run({"du", "localhost", tree, "--output", "json"});
  ASSERT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_THAT(again.stdout_text, HasSubstr("\"files\":\"90000\""));
  EXPECT_THAT(again.stdout_text, HasSubstr("\"incomplete\":false"));
}

}  // namespace
}  // namespace opsagent
