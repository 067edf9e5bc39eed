#include "agent/system/supervisor_program_controller.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

TEST(SupervisorStatusTest, ParsesRunningAndStoppedPrograms) {
  auto running =
      ParseSupervisorStatus("xqwatcher",
                            "xqwatcher                        RUNNING   pid "
                            "1114388, uptime 0:04:48\n");
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->active_state, "RUNNING");
  EXPECT_EQ(running->main_pid, 1114388);
  auto backoff =
      ParseSupervisorStatus("xqwatcher",
                            "xqwatcher                        BACKOFF   Exited "
                            "too quickly (process log may have details)\n");
  ASSERT_TRUE(backoff.ok());
  EXPECT_EQ(backoff->active_state, "BACKOFF");
  EXPECT_EQ(backoff->main_pid, 0);
}

TEST(SupervisorStatusTest, ProgramMissingFromOutputIsAnError) {
  EXPECT_FALSE(
      ParseSupervisorStatus("xqwatcher", "xqwatcher: ERROR (no such process)\n")
          .ok());
  EXPECT_FALSE(
      ParseSupervisorStatus("xq", "xqwatcher RUNNING pid 1, uptime 0:00:01\n")
          .ok());
}

}  // namespace
}  // namespace opsagent
