#include "absl/time/clock.h"
#include "agent/system/supervisor_program_controller.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(SupervisorStatusTest, ParsesRunningAndStoppedPrograms) {
  auto running = ParseSupervisorStatus(
      "xqwatcher",
      "xqwatcher                        RUNNING   pid 1114388, uptime "
      "0:04:48\n",
      kNow);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->status.active_state, "RUNNING");
  EXPECT_EQ(running->status.main_pid, 1114388);
  ASSERT_TRUE(running->since.has_value());
  EXPECT_EQ(kNow - *running->since, absl::Seconds(4 * 60 + 48));
  EXPECT_EQ(running->result, "");
  auto backoff = ParseSupervisorStatus(
      "xqwatcher",
      "xqwatcher                        BACKOFF   Exited too quickly (process "
      "log may have details)\n",
      kNow);
  ASSERT_TRUE(backoff.ok());
  EXPECT_EQ(backoff->status.active_state, "BACKOFF");
  EXPECT_EQ(backoff->status.main_pid, 0);
  EXPECT_FALSE(backoff->since.has_value());
  EXPECT_EQ(backoff->result,
            "Exited too quickly (process log may have details)");
}

TEST(SupervisorStatusTest, UptimesOfDaysAsPythonPrintsThem) {
  auto one = ParseSupervisorStatus(
      "xq", "xq RUNNING pid 7, uptime 1 day, 2:03:04\n", kNow);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(kNow - *one->since,
            absl::Hours(26) + absl::Minutes(3) + absl::Seconds(4));
  auto many = ParseSupervisorStatus(
      "xq", "xq RUNNING pid 7, uptime 12 days, 0:00:01\n", kNow);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(kNow - *many->since, absl::Hours(288) + absl::Seconds(1));
  // An uptime it cannot read leaves "since" unknown, not wrong.
  auto odd =
      ParseSupervisorStatus("xq", "xq RUNNING pid 7, uptime soon\n", kNow);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->status.main_pid, 7);
  EXPECT_FALSE(odd->since.has_value());
}

TEST(SupervisorStatusTest, ProgramMissingFromOutputIsAnError) {
  EXPECT_FALSE(ParseSupervisorStatus(
                   "xqwatcher", "xqwatcher: ERROR (no such process)\n", kNow)
                   .ok());
  EXPECT_FALSE(ParseSupervisorStatus(
                   "xq", "xqwatcher RUNNING pid 1, uptime 0:00:01\n", kNow)
                   .ok());
}

TEST(SupervisorStatusTest, HostileStateTextIsEscaped) {
  auto evil = ParseSupervisorStatus(
      "xq", "xq FATAL \x1b]0;owned\x07 spawn error\n", kNow);
  ASSERT_TRUE(evil.ok());
  EXPECT_EQ(evil->result.find('\x1b'), std::string::npos);
  EXPECT_NE(evil->result.find("\\x1b"), std::string::npos);
}

TEST(SupervisorLogTailTest, KeepsTheLastWholeLines) {
  std::vector<ServiceLogLine> lines = LastLogLines(
      "tial line\nsecond\nthird\nfourth\n", /*cut=*/true, 2, "stderr");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "third");
  EXPECT_EQ(lines[1].text, "fourth");
  EXPECT_EQ(lines[1].source, "stderr");
  EXPECT_FALSE(lines[1].time.has_value());
  // A tail cut in the middle of its first line drops that line; a whole
  // file keeps it.
  EXPECT_EQ(LastLogLines("tial line\nsecond\n", true, 10, "stdout").size(), 1u);
  EXPECT_EQ(LastLogLines("first\nsecond\n", false, 10, "stdout").size(), 2u);
}

TEST(SupervisorLogTailTest, LongAndHostileLinesAreBoundedAndEscaped) {
  const std::string longest(5000, 'x');
  std::vector<ServiceLogLine> lines = LastLogLines(
      "first\n" + longest + "\n\x1b[2Kgone\n", false, 10, "stdout");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].text, std::string(kMaxServiceLogLineBytes, 'x') + "…");
  EXPECT_EQ(lines[2].text, "\\x1b[2Kgone");
}

}  // namespace
}  // namespace opsagent
