// Automatic diagnosis when hosts are down, on real parts: the real opsctld
// with its intake and two diagnosis workers, an inventory of hosts that
// never link, the real agent web-1 that is linked, and another real agent
// that links only after its alert came in. A host that is down holds no
// worker: the linked host's diagnosis does not wait behind it, and the
// late host's runs once it links.

#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/alerting_fleet.h"
#include "tests/testing/opsctl_runner.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AlertingFleet;
using ::opsagent::testing::AlertmanagerNotification;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::ParseJson;
using ::testing::HasSubstr;

constexpr int kDownHosts = 6;  // three times the workers (max_concurrent 2)

class DiagnosisQueueE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDirectory();
    logs_ = dir_ + "/logs";
    mkdir(logs_.c_str(), 0700);
    testing::WriteFileOrDie(logs_ + "/app.log", std::string(1 << 20, 'x'));
    // Hosts the team expects (role web, so the web-disk entry and its
    // automatic steps fit their alerts): down-N never link; late-1 links
    // when the test starts it. Nothing listens at their addresses.
    std::string inventory;
    for (int i = 1; i <= kDownHosts; ++i)
      absl::StrAppend(&inventory, "host { name: \"down-", i,
                      "\" address: \"127.0.0.1:1\" roles: \"web\" "
                      "environment: \"test\" }\n");
    absl::StrAppend(&inventory,
                    "host { name: \"late-1\" address: \"127.0.0.1:1\" roles: "
                    "\"web\" environment: \"test\" }\n");
    testing::WriteFileOrDie(dir_ + "/expected.inventory", inventory);
    chmod((dir_ + "/expected.inventory").c_str(), 0600);
    AlertingFleet::Options options;
    options.dir = dir_;
    options.logs = logs_;
    options.controller_config =
        absl::StrCat("inventory: \"", dir_, "/expected.inventory\"\n");
    auto fleet = AlertingFleet::Start(options);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    started_ =
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now() - absl::Minutes(2),
                         absl::UTCTimeZone());
  }

  // Posts a firing DiskUsageWarning for `host`; returns the incident opened.
  std::string Fire(const std::string& host, int n) {
    AlertingFleet::Answer answer = fleet_->Post(
        AlertmanagerNotification(
            "firing", "DiskUsageWarning", absl::StrCat(host, ":9100"),
            absl::StrCat("f00d0000000000", 10 + n), started_),
        fleet_->token);
    EXPECT_EQ(answer.status, 200) << answer.body;
    const std::string id = absl::StrCat("INC-", n);
    EXPECT_THAT(answer.body, HasSubstr(absl::StrCat("\"opened\":[\"", id)))
        << answer.body;
    return id;
  }

  // The incident's diagnosis state as the controller keeps it.
  std::string DiagnosisState(const std::string& id) {
    ProgramResult shown =
        fleet_->alice->Run({"incident", "show", id, "--output", "json"});
    if (shown.exit_code != 0) return "error: " + shown.stderr_text;
    return JsonField(
               JsonField(JsonField(ParseJson(shown.stdout_text), "incident"),
                         "diagnosis"),
               "state")
        .string_value();
  }

  std::string dir_, logs_, started_;
  std::unique_ptr<AlertingFleet> fleet_;
};

TEST_F(DiagnosisQueueE2eTest, HostsThatAreDownDoNotHoldUpALinkedHost) {
  std::vector<std::string> down;
  for (int i = 1; i <= kDownHosts; ++i)
    down.push_back(Fire(absl::StrCat("down-", i), i));
  const std::string late = Fire("late-1", kDownHosts + 1);
  const absl::Time posted = absl::Now();
  const std::string linked = Fire("web-1", kDownHosts + 2);

  // Before, each worker waited up to 30 s for a down host's link: web-1's
  // diagnosis came behind three rounds of them. The deadline allows for a
  // loaded machine under ASan; the diagnosis itself takes a second or two.
  ASSERT_TRUE(Eventually([&] { return DiagnosisState(linked) == "done"; },
                         absl::Seconds(25)))
      << DiagnosisState(linked) << fleet_->controller->Log();
  const absl::Duration took = absl::Now() - posted;
  std::printf(
      "web-1's diagnosis was ready %s after the alert, behind %d "
      "alerts for hosts that are down\n",
      absl::FormatDuration(took).c_str(), kDownHosts + 1);
  // It did not wait for them: they are still parked, none ran or failed.
  for (const std::string& id : down) EXPECT_EQ(DiagnosisState(id), "pending");
  EXPECT_EQ(DiagnosisState(late), "pending");
  EXPECT_THAT(fleet_->controller->Log(),
              HasSubstr("down-1 holds no link; its diagnosis waits for it"));

  // late-1 comes up: its parked diagnosis runs on it.
  absl::StatusOr<std::unique_ptr<testing::TestAgent>> late_agent =
      fleet_->StartLinkedAgent("late-1");
  ASSERT_TRUE(late_agent.ok()) << late_agent.status();
  ASSERT_TRUE(Eventually([&] { return DiagnosisState(late) == "done"; },
                         absl::Seconds(30)))
      << DiagnosisState(late) << fleet_->controller->Log();
  ProgramResult shown = fleet_->alice->Run({"incident", "show", late});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  EXPECT_THAT(shown.stdout_text, HasSubstr(logs_ + "/app.log"));
  EXPECT_THAT(shown.stdout_text, HasSubstr("opsctld-automation: disk_usage"));
  // The hosts still down are still parked, not failed.
  for (const std::string& id : down) EXPECT_EQ(DiagnosisState(id), "pending");
}

// Two alerts of one host for two runbook entries, at once: their diagnoses
// run one after the other, not side by side (each du takes one of the
// agent's few heavy-call slots, and a third is refused, not queued), and
// both finish.
TEST(DiagnosisPerHostTest, TwoAlertsOfOneHostAreDiagnosedOneAfterTheOther) {
  const std::string dir = testing::MakeTestDirectory();
  const std::string logs = dir + "/logs";
  mkdir(logs.c_str(), 0700);
  testing::WriteFileOrDie(logs + "/app.log", std::string(1 << 20, 'x'));
  const std::string runbooks = dir + "/runbooks";
  mkdir(runbooks.c_str(), 0700);
  std::string entries;
  for (const auto& [id, alert] : {std::pair{"web-disk", "DiskUsageWarning"},
                                  {"web-memory", "MemoryUsageWarning"}}) {
    absl::StrAppend(&entries, "entry {\n  id: \"", id,
                    "\"\n  product: \"Web\"\n  alert: \"", alert,
                    " web\"\n  diagnosis { title: \"Memory\" opsctl: "
                    "[\"mem\", \"{target}\"] automatic: true }\n"
                    "  diagnosis { title: \"Largest\" opsctl: [\"du\", "
                    "\"{target}\", \"",
                    logs, "\"] automatic: true }\n}\n");
  }
  testing::WriteFileOrDie(runbooks + "/web.textproto", entries);
  chmod((runbooks + "/web.textproto").c_str(), 0600);
  AlertingFleet::Options options;
  options.dir = dir;
  options.logs = logs;
  options.runbooks = runbooks;
  auto fleet = AlertingFleet::Start(options);
  ASSERT_TRUE(fleet.ok()) << fleet.status();

  const std::string started =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now() - absl::Minutes(2),
                       absl::UTCTimeZone());
  int n = 0;
  for (const char* alert : {"DiskUsageWarning", "MemoryUsageWarning"}) {
    ++n;
    AlertingFleet::Answer answer = (*fleet)->Post(
        AlertmanagerNotification("firing", alert, "web-1:9100",
                                 absl::StrCat("feed00000000000", n), started),
        (*fleet)->token);
    ASSERT_EQ(answer.status, 200) << answer.body;
    ASSERT_THAT(answer.body, HasSubstr(absl::StrCat("\"opened\":[\"INC-", n)))
        << answer.body;
  }
  // Each diagnosis as the controller keeps it, once both are done.
  std::vector<google::protobuf::Value> done;
  ASSERT_TRUE(Eventually(
      [&] {
        done.clear();
        for (const char* id : {"INC-1", "INC-2"}) {
          ProgramResult shown = (*fleet)->alice->Run(
              {"incident", "show", id, "--output", "json"});
          if (shown.exit_code != 0) return false;
          done.push_back(
              JsonField(JsonField(ParseJson(shown.stdout_text), "incident"),
                        "diagnosis"));
          if (JsonField(done.back(), "state").string_value() != "done")
            return false;
        }
        return true;
      },
      absl::Seconds(60)))
      << (*fleet)->controller->Log();
  auto millis = [](const google::protobuf::Value& diagnosis,
                   const char* field) {
    int64_t ms = 0;
    const google::protobuf::Value& value = JsonField(diagnosis, field);
    if (value.has_string_value())
      EXPECT_TRUE(absl::SimpleAtoi(value.string_value(), &ms));
    else
      ms = static_cast<int64_t>(value.number_value());
    return ms;
  };
  const int64_t first_start = millis(done[0], "started_at_ms");
  const int64_t first_end = millis(done[0], "finished_at_ms");
  const int64_t second_start = millis(done[1], "started_at_ms");
  const int64_t second_end = millis(done[1], "finished_at_ms");
  ASSERT_GT(first_start, 0);
  ASSERT_GT(second_start, 0);
  EXPECT_TRUE(second_start >= first_end || first_start >= second_end)
      << "INC-1 ran " << first_start << ".." << first_end << ", INC-2 "
      << second_start << ".." << second_end;
}

}  // namespace
}  // namespace opsagent
