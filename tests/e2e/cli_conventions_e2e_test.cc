// opsctl's conventions, on the real binaries through the real controller:
// --output json where a script would ask for it (runbook list and show,
// triage), a format a command does not print refused before anything
// runs, the -o and -y short forms, and `opsctl completion bash` completing
// live host names, open incidents and runbook entries in a real bash.

#include <sys/stat.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/alerting_fleet.h"
#include "tests/testing/opsctl_runner.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AlertingFleet;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::ParseJson;
using ::testing::HasSubstr;
using ::testing::Not;

class CliConventionsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDirectory();
    const std::string logs = dir_ + "/logs";
    mkdir(logs.c_str(), 0700);
    testing::WriteFileOrDie(logs + "/app.log", "x\n");
    auto fleet = AlertingFleet::Start({dir_, logs, ""});
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
  }

  int AuditRows() const {
    ProgramResult rows = fleet_->alice->Run({"audit", "-o", "json"});
    EXPECT_EQ(rows.exit_code, 0) << rows.stderr_text;
    return ParseJson(rows.stdout_text).list_value().values_size();
  }

  std::string dir_;
  std::unique_ptr<AlertingFleet> fleet_;
};

TEST_F(CliConventionsE2eTest, JsonWhereScriptsAskAndNoFormatIgnored) {
  ProgramResult list = fleet_->alice->Run({"runbook", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
  const google::protobuf::Value listed = ParseJson(list.stdout_text);
  const auto& entries = JsonField(listed, "entry").list_value();
  ASSERT_EQ(entries.values_size(), 1) << list.stdout_text;
  EXPECT_EQ(JsonField(entries.values(0), "id").string_value(), "web-disk");

  ProgramResult show =
      fleet_->alice->Run({"runbook", "show", "web-disk", "--output", "json"});
  ASSERT_EQ(show.exit_code, 0) << show.stderr_text;
  EXPECT_EQ(JsonField(ParseJson(show.stdout_text), "alert").string_value(),
            "DiskUsageWarning web");

  ProgramResult triage = fleet_->alice->Run(
      {"triage",
       "[FIRING:1] - DiskUsageWarning\nDescription - Filesystem on "
       "/dev/nvme0n1p1 at web-1 is 85.02% full.",
       "-o", "json"});
  ASSERT_EQ(triage.exit_code, 0) << triage.stderr_text;
  const google::protobuf::Value found = ParseJson(triage.stdout_text);
  ASSERT_EQ(found.list_value().values_size(), 1) << triage.stdout_text;
  const google::protobuf::Value& alert = found.list_value().values(0);
  EXPECT_EQ(JsonField(alert, "entry").string_value(), "web-disk");
  EXPECT_EQ(JsonField(alert, "host").string_value(), "web-1");
  EXPECT_TRUE(JsonField(alert, "in_inventory").bool_value());

  ProgramResult verified =
      fleet_->alice->Run({"audit", "verify", "-o", "json"});
  ASSERT_EQ(verified.exit_code, 0) << verified.stderr_text;
  EXPECT_TRUE(JsonField(ParseJson(verified.stdout_text), "ok").bool_value());
  EXPECT_THAT(JsonField(ParseJson(verified.stdout_text), "log").string_value(),
              HasSubstr("audit log of the controller 127.0.0.1:"));

  // Formats a command does not print are refused before anything runs.
  const int rows = AuditRows();
  for (const auto& [args, says] :
       {std::pair<std::vector<std::string>, std::string>{
            {"mem", "web-1", "--output", "markdown"},
            "opsctl mem prints no markdown; --output takes table or json"},
        {{"hosts", "-o", "csv"}, "opsctl hosts prints no csv"},
        {{"incidents", "-o", "markdown"},
         "opsctl incidents prints no markdown"},
        {{"runbook", "run", "web-disk", "--host", "web-1", "-o", "json"},
         "runbook run prints no JSON"},
        {{"triage", "DiskUsageWarning web-1", "--run", "-o", "json"},
         "with --run the steps print as they run"},
        {{"df", "web-1", "-o", "yaml"}, "--output yaml: use table, json"},
        {{"hosts", "-y"}, "unknown flag -y"}}) {
    ProgramResult refused = fleet_->alice->Run(args);
    EXPECT_EQ(refused.exit_code, 2) << args[0] << " " << refused.stdout_text;
    EXPECT_THAT(refused.stderr_text, HasSubstr(says)) << args[0];
  }
  EXPECT_EQ(AuditRows(), rows);
}

TEST_F(CliConventionsE2eTest, BashCompletesLiveHostsIncidentsAndEntries) {
  ASSERT_EQ(fleet_
                ->Post(testing::AlertmanagerNotification(
                           "firing", "DiskUsageWarning", "web-1:9100",
                           "00000000000000a1",
                           absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                            absl::Now() - absl::Minutes(1),
                                            absl::UTCTimeZone())),
                       fleet_->token)
                .status,
            200);
  ProgramResult script = fleet_->alice->Run({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0) << script.stderr_text;
  testing::WriteFileOrDie(dir_ + "/opsctl.bash", script.stdout_text);
  // bash, as a user's shell: the script's `opsctl` is the real one with
  // alice's configuration.
  const std::string opsctl =
      testing::AbsolutePath(testing::BinaryPath("controller/opsctl/opsctl"));
  const std::string bin = dir_ + "/bin";
  mkdir(bin.c_str(), 0700);
  ASSERT_EQ(symlink(opsctl.c_str(), (bin + "/opsctl").c_str()), 0);
  const auto complete = [&](const std::string& line) {
    absl::StatusOr<ProgramResult> ran = RunProgram(
        {"/bin/bash", "-c",
         absl::StrCat("source ", dir_, "/opsctl.bash; COMP_WORDS=(", line,
                      "); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _opsctl; "
                      "printf '%s\\n' \"${COMPREPLY[@]}\"")},
        absl::Seconds(30), 1 << 20,
        std::vector<std::string>{
            "PATH=" + bin + ":/usr/bin:/bin",
            "OPSCTL_CONFIG=" + fleet_->alice->config_path(), "HOME=" + dir_});
    EXPECT_TRUE(ran.ok()) << ran.status();
    return ran.ok() ? ran->stdout_text : "";
  };
  EXPECT_THAT(complete("opsctl inc"), HasSubstr("incident\n"));
  EXPECT_THAT(complete("opsctl inc"), HasSubstr("incidents\n"));
  EXPECT_THAT(complete("opsctl incident s"), HasSubstr("show\nsilence\n"));
  EXPECT_EQ(complete("opsctl incident show ''"), "INC-1\n");
  EXPECT_EQ(complete("opsctl mem ''"), "web-1\n");
  EXPECT_EQ(complete("opsctl runbook show ''"), "web-disk\n");
  EXPECT_THAT(complete("opsctl audit --out"), HasSubstr("--output\n"));
  EXPECT_EQ(complete("opsctl audit -o c"), "csv\n");
  // zsh takes the same, through bashcompinit.
  ProgramResult zsh = fleet_->alice->Run({"completion", "zsh"});
  EXPECT_THAT(zsh.stdout_text, HasSubstr("#compdef opsctl\n"));
  EXPECT_THAT(zsh.stdout_text, HasSubstr("bashcompinit"));
}

}  // namespace
}  // namespace opsagent
