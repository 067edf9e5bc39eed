// An incident's automatic diagnosis when the incident store's filesystem
// fills while it runs: the real IncidentStore (SQLite) on a real 1 MiB tmpfs
// mounted in this test's own mount namespace (needs root), filled with a
// real file. The diagnosis itself is a stand-in runner that fills the disk
// while it "runs": under test is what the queue does with a state it cannot
// record, not opsctl's run (AlertIntakeE2eTest runs that end to end). Before,
// the incident stayed "running" (or "pending") until opsctld restarted.

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "controller/alerts/auto_diagnosis.h"
#include "controller/alerts/incident_store.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"

namespace opsagent {
namespace {

using ::opsagent::testing::Eventually;

// Writes `path` until the filesystem refuses more (ENOSPC).
void FillUp(const std::string& path) {
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  const std::string chunk(4096, 'x');
  while (write(fd, chunk.data(), chunk.size()) > 0) {
  }
  EXPECT_EQ(errno, ENOSPC);
  close(fd);
}

TEST(DiagnosisFullDiskTest, AStateTheFullDiskRefusedIsRecordedOnceThereIsRoom) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  ASSERT_EQ(unshare(CLONE_NEWNS), 0);
  ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  const std::string small = std::string(std::getenv("TEST_TMPDIR")) + "/small";
  mkdir(small.c_str(), 0700);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=1m,mode=0700"), 0);
  absl::StatusOr<std::unique_ptr<IncidentStore>> store =
      IncidentStore::Open(small + "/incidents.db");
  ASSERT_TRUE(store.ok()) << store.status();

  TriagedAlert alert;
  alert.alert.status = "firing";
  alert.alert.labels = {{"alertname", "DiskUsageWarning"},
                        {"instance", "web-1"}};
  alert.alert.starts_at_ms = 1000;
  alert.alert.fingerprint = "0f";
  alert.source = "alertmanager";
  alert.host = "web-1";
  alert.host_known = true;
  alert.entry = "web-disk";
  alert.diagnosis = "pending";
  absl::StatusOr<IntakeResult> recorded = (*store)->Record({alert}, "am", 2000);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_EQ(recorded->opened.size(), 1u);
  const std::string id = recorded->opened[0];
  absl::StatusOr<v1::Incident> incident = (*store)->Get(id);
  ASSERT_TRUE(incident.ok()) << incident.status();

  const std::string filler = small + "/filler";
  absl::Notification ran;
  v1::AutomationConfig config;
  config.set_max_concurrent(1);
  MetricRegistry metrics;
  AutoDiagnosis diagnosis(
      config, store->get(), /*events=*/nullptr,
      [](const std::string&) { return true; },
      [&](const std::vector<std::string>&, absl::Duration) {
        FillUp(filler);
        v1::IncidentDiagnosis done;
        done.set_exit_code(0);
        done.set_output("Filesystem  Size  Used Avail Use% Mounted on\n");
        ran.Notify();
        return done;
      },
      metrics);
  diagnosis.Enqueue(*incident);
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::SleepFor(absl::Milliseconds(500));
  // The disk is full: the result could not be recorded.
  incident = (*store)->Get(id);
  ASSERT_TRUE(incident.ok()) << incident.status();
  EXPECT_EQ(incident->diagnosis().state(), "running");

  // Room again: the queue records it by itself, no restart needed.
  ASSERT_EQ(unlink(filler.c_str()), 0);
  EXPECT_TRUE(Eventually(
      [&] {
        absl::StatusOr<v1::Incident> now = (*store)->Get(id);
        return now.ok() && now->diagnosis().state() == "done";
      },
      AutoDiagnosis::kRecordRetry * 3));
  incident = (*store)->Get(id);
  ASSERT_TRUE(incident.ok());
  EXPECT_EQ(incident->diagnosis().output(),
            "Filesystem  Size  Used Avail Use% Mounted on\n");
  EXPECT_GT(incident->diagnosis().finished_at_ms(), 0);
}

}  // namespace
}  // namespace opsagent
