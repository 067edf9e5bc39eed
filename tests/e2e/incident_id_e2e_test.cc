// Incident ids on real parts: the real opsctl, opsctld (with its alert
// intake, so it keeps incidents) and agent. An id in another form than
// INC-<n> ("inc-1", "INC-01") or one the controller has not opened is
// refused with exit 2 before anything is sent or audited; it would have
// been recorded as typed and left out of the incident's timeline. A
// reference outside opsagent (a ticket, a drill's name) has a field of its
// own, --ticket, so that a drill never names a real incident.

#include <sys/stat.h>

#include <string>

#include "absl/strings/match.h"
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
using ::opsagent::testing::JsonField;
using ::opsagent::testing::ParseJson;
using ::testing::HasSubstr;

class IncidentIdE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDirectory();
    logs_ = dir_ + "/logs";
    mkdir(logs_.c_str(), 0700);
    log_ = logs_ + "/app.log";
    testing::WriteFileOrDie(log_, std::string(1 << 20, 'x'));
    auto fleet = AlertingFleet::Start({dir_, logs_, ""});
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    AlertingFleet::Answer opened = fleet_->Post(
        AlertmanagerNotification(
            "firing", "DiskUsageWarning", "web-1:9100", "0123456789abcdef",
            absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                             absl::UTCTimeZone())),
        fleet_->token);
    ASSERT_EQ(opened.status, 200) << opened.body;
    ASSERT_THAT(opened.body, HasSubstr("\"opened\":[\"INC-1\"]"));
  }

  // Rows of the team's log that alice's calls left.
  int AliceRows() const {
    ProgramResult audit = fleet_->alice->Run(
        {"audit", "--operator", "alice", "--output", "json"});
    EXPECT_EQ(audit.exit_code, 0) << audit.stderr_text;
    return ParseJson(audit.stdout_text).list_value().values_size();
  }

  std::string dir_, logs_, log_;
  std::unique_ptr<AlertingFleet> fleet_;
};

TEST_F(IncidentIdE2eTest, AnotherFormIsRefusedAndNothingIsSentOrAudited) {
  for (const char* other :
       {"inc-1", "INC-01", "Inc-1", "1", "INC-+1", "INC-1 ", "INC-0"}) {
    ProgramResult read =
        fleet_->alice->Run({"df", "web-1", "--incident", other});
    EXPECT_EQ(read.exit_code, 2) << other << read.stderr_text;
    EXPECT_THAT(read.stderr_text, HasSubstr("INC-<number>")) << other;
    // A change too: refused before it is asked for, the log untouched.
    ProgramResult change = fleet_->alice->Run(
        {"truncate", "web-1", log_, "--yes", "--incident", other});
    EXPECT_EQ(change.exit_code, 2) << other << change.stderr_text;
    ProgramResult shown = fleet_->alice->Run({"incident", "show", other});
    EXPECT_EQ(shown.exit_code, 2) << other << shown.stderr_text;
    EXPECT_THAT(shown.stderr_text, HasSubstr("INC-<number>")) << other;
  }
  struct stat after;
  ASSERT_EQ(stat(log_.c_str(), &after), 0);
  EXPECT_EQ(after.st_size, 1 << 20);
  EXPECT_EQ(AliceRows(), 0);
}

TEST_F(IncidentIdE2eTest, AnIncidentTheControllerHasNotOpenedIsRefused) {
  ProgramResult unknown =
      fleet_->alice->Run({"df", "web-1", "--incident", "INC-2"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.stderr_text;
  EXPECT_THAT(unknown.stderr_text, HasSubstr("no such incident"));
  EXPECT_EQ(AliceRows(), 0);

  // The incident it opened: recorded, and on the incident's timeline.
  ProgramResult known =
      fleet_->alice->Run({"df", "web-1", "--incident", "INC-1"});
  ASSERT_EQ(known.exit_code, 0) << known.stderr_text;
  EXPECT_EQ(AliceRows(), 1);
  ProgramResult shown =
      fleet_->alice->Run({"incident", "show", "INC-1", "--output", "json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  const google::protobuf::Value parsed = ParseJson(shown.stdout_text);
  bool alices = false;
  for (const auto& action : JsonField(parsed, "actions").list_value().values())
    alices |= JsonField(action, "cert_identity").string_value() == "alice";
  EXPECT_TRUE(alices) << shown.stdout_text;
}

// A drill's change is recorded with its ticket, apart from incidents: a
// ticket that reads like an incident is not on that incident's timeline, is
// what the agent journals (reconcile agrees), is under the chain (verify
// passes), and is how the team finds the drill's actions.
TEST_F(IncidentIdE2eTest, ATicketIsRecordedApartFromIncidents) {
  const std::string ticket = "drill 2026-12 disk (not INC-1)";
  ProgramResult drill = fleet_->alice->Run(
      {"truncate", "web-1", log_, "--yes", "--ticket", ticket});
  ASSERT_EQ(drill.exit_code, 0) << drill.stderr_text;

  ProgramResult found =
      fleet_->alice->Run({"audit", "--ticket", ticket, "--output", "json"});
  ASSERT_EQ(found.exit_code, 0) << found.stderr_text;
  const google::protobuf::Value rows = ParseJson(found.stdout_text);
  ASSERT_EQ(rows.list_value().values_size(), 1) << found.stdout_text;
  const google::protobuf::Value& row = rows.list_value().values(0);
  EXPECT_EQ(JsonField(row, "ticket").string_value(), ticket);
  EXPECT_EQ(JsonField(row, "incident").string_value(), "");
  EXPECT_EQ(JsonField(row, "operation").string_value(), "truncate_log");
  ProgramResult other =
      fleet_->alice->Run({"audit", "--ticket", "CHG-1", "--output", "json"});
  ASSERT_EQ(other.exit_code, 0) << other.stderr_text;
  EXPECT_EQ(ParseJson(other.stdout_text).list_value().values_size(), 0);

  ProgramResult shown =
      fleet_->alice->Run({"incident", "show", "INC-1", "--output", "json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  const google::protobuf::Value timeline = ParseJson(shown.stdout_text);
  for (const auto& action :
       JsonField(timeline, "actions").list_value().values())
    EXPECT_NE(JsonField(action, "cert_identity").string_value(), "alice");

  ProgramResult reconciled = fleet_->alice->Run(
      {"audit", "reconcile", "--host", "web-1", "--since", "10m"});
  EXPECT_EQ(reconciled.exit_code, 0)
      << reconciled.stdout_text << reconciled.stderr_text;
  ProgramResult verified = fleet_->alice->Run({"audit", "verify"});
  EXPECT_EQ(verified.exit_code, 0) << verified.stderr_text;
  ProgramResult table = fleet_->alice->Run({"audit", "--ticket", ticket});
  EXPECT_THAT(table.stdout_text, HasSubstr("ticket " + ticket));
}

TEST_F(IncidentIdE2eTest, ABadTicketIsRefusedAndNothingIsSentOrAudited) {
  for (const std::string& bad :
       {std::string(129, 't'), std::string("CHG-1\x1b[2J"),
        std::string("CHG-1\nINC-1"), std::string("\xff\xfe"),
        // A bidirectional isolate (the agent escapes it in its replies,
        // so reconcile would see two tickets), a C1 control, and a
        // zero-width space (CHG-1 to the eye, not found by it).
        std::string("CHG-77\u2066"), std::string("CHG-1\u009b2J"),
        std::string("CHG-1\u200b")}) {
    ProgramResult change = fleet_->alice->Run(
        {"truncate", "web-1", log_, "--yes", "--ticket", bad});
    EXPECT_EQ(change.exit_code, 2) << change.stderr_text;
    EXPECT_THAT(change.stderr_text, HasSubstr("--ticket")) << bad;
  }
  struct stat after;
  ASSERT_EQ(stat(log_.c_str(), &after), 0);
  EXPECT_EQ(after.st_size, 1 << 20);
  EXPECT_EQ(AliceRows(), 0);
}

}  // namespace
}  // namespace opsagent
