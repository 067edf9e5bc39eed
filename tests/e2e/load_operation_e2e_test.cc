// The `load` operation end to end, on real parts: the real opsagent linked
// to the real opsctld, the real opsctl through it, the team's SQLite log and
// both daemons' /metrics. `load` was added as issue 22's proof that an
// operation is its declaration in agent.proto, one file in agent/ops, one
// opsctl command file and this test: the relay, the audit log, the metrics,
// the help and the operation catalogue take it from the declaration.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/alerting_fleet.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AlertingFleet;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::ParseJson;
using ::testing::HasSubstr;

class LoadOperationE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/fleet");
    mkdir(dir.c_str(), 0700);
    const std::string logs = dir + "/logs";
    mkdir(logs.c_str(), 0700);
    auto fleet = AlertingFleet::Start({dir, logs});
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = fleet->release();
  }
  static void TearDownTestSuite() {
    delete fleet_;
    fleet_ = nullptr;
  }

  // The result of `opsctl load web-1 --output json ARGS...`, and its exit code.
  static google::protobuf::Value LoadJson(const std::vector<std::string>& args,
                                          int* exit_code) {
    std::vector<std::string> argv = {"load", "web-1", "--output", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    ProgramResult ran = fleet_->alice->Run(argv);
    *exit_code = ran.exit_code;
    return ParseJson(ran.stdout_text);
  }

  static AlertingFleet* fleet_;
};

AlertingFleet* LoadOperationE2eTest::fleet_ = nullptr;

// What the test reads itself from this host's /proc, which the agent shares.
double LoadAverageHere() {
  std::ifstream in("/proc/loadavg");
  double load1 = -1;
  in >> load1;
  return load1;
}

TEST_F(LoadOperationE2eTest, ShowsTheHostsLoadThroughTheController) {
  ProgramResult shown = fleet_->alice->Run({"load", "web-1"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  EXPECT_THAT(shown.stdout_text, HasSubstr("load average: "));
  EXPECT_THAT(shown.stdout_text,
              HasSubstr(absl::StrCat(" on ", cpus, " CPUs (")));
  const bool kernel_keeps_pressure = access("/proc/pressure/io", R_OK) == 0;
  if (kernel_keeps_pressure) {
    EXPECT_THAT(shown.stdout_text, HasSubstr("PRESSURE"));
    EXPECT_THAT(shown.stdout_text, HasSubstr("memory"));
  } else {
    EXPECT_THAT(shown.stdout_text, HasSubstr("pressure: not kept"));
  }

  int exit_code = -1;
  const double before = LoadAverageHere();
  google::protobuf::Value json = LoadJson({}, &exit_code);
  const double after = LoadAverageHere();
  ASSERT_EQ(exit_code, 0);
  EXPECT_EQ(JsonField(json, "host").string_value(), "web-1");
  EXPECT_EQ(JsonField(json, "operation").string_value(), "load");
  EXPECT_EQ(JsonField(json, "outcome").string_value(), "ok");
  const google::protobuf::Value& result = JsonField(json, "result");
  EXPECT_EQ(JsonField(result, "cpus").number_value(), cpus);
  // The kernel's 1-minute figure moves a little between reads: the agent's
  // lies between what this process read just before and just after.
  const double load1 = JsonField(result, "load1").number_value();
  EXPECT_GE(load1, std::min(before, after) - 0.2);
  EXPECT_LE(load1, std::max(before, after) + 0.2);
  EXPECT_GT(JsonField(result, "total_tasks").number_value(), 0);
  EXPECT_GE(JsonField(result, "runnable_tasks").number_value(), 1)
      << "the agent itself is running when it reads";
  if (kernel_keeps_pressure) {
    const google::protobuf::Value& io = JsonField(result, "io");
    EXPECT_GE(JsonField(io, "some_avg300").number_value(), 0);
    EXPECT_LE(JsonField(io, "some_avg300").number_value(), 100);
  }
}

// The check exits 7 exactly when the figure it got is above the bound: the
// decision is taken from the reply printed with it.
TEST_F(LoadOperationE2eTest, MaxPerCpuDecidesTheExitCodeFromTheReply) {
  int exit_code = -1;
  google::protobuf::Value json =
      LoadJson({"--max-per-cpu", "0.01"}, &exit_code);
  const google::protobuf::Value& result = JsonField(json, "result");
  const double per_cpu = JsonField(result, "load1").number_value() /
                         JsonField(result, "cpus").number_value();
  EXPECT_EQ(exit_code, per_cpu > 0.01 ? 7 : 0) << per_cpu;
  LoadJson({"--max-per-cpu", "1000"}, &exit_code);
  EXPECT_EQ(exit_code, 0);
}

TEST_F(LoadOperationE2eTest, BadInputIsRefusedAndRecordsNothing) {
  ProgramResult before = fleet_->alice->Run({"audit", "--output", "json"});
  ASSERT_EQ(before.exit_code, 0) << before.stderr_text;
  for (const char* bad :
       {"-1", "0", "x", "1e9", "nan", "0x10", "1e-320", "0.001", "1.2.3"}) {
    ProgramResult refused =
        fleet_->alice->Run({"load", "web-1", "--max-per-cpu", bad});
    EXPECT_EQ(refused.exit_code, 2) << bad;
    EXPECT_THAT(refused.stderr_text, HasSubstr("--max-per-cpu takes a number"))
        << bad;
  }
  ProgramResult extra = fleet_->alice->Run({"load", "web-1", "web-2"});
  EXPECT_EQ(extra.exit_code, 2) << extra.stderr_text;
  ProgramResult after = fleet_->alice->Run({"audit", "--output", "json"});
  EXPECT_EQ(after.stdout_text, before.stdout_text);
}

// The audit log, the metrics and the help know `load` from its declaration
// alone.
TEST_F(LoadOperationE2eTest, AuditMetricsAndHelpTakeItFromTheDeclaration) {
  ASSERT_EQ(
      fleet_->alice->Run({"load", "web-1", "--reason", "slow host"}).exit_code,
      0);
  ProgramResult audit =
      fleet_->alice->Run({"audit", "--operation", "load", "--output", "json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.stderr_text;
  EXPECT_THAT(audit.stdout_text, HasSubstr("\"operation\":\"load\""));
  EXPECT_THAT(audit.stdout_text, HasSubstr("\"reason\":\"slow host\""));
  // The result's summary, registered by the command file.
  EXPECT_THAT(audit.stdout_text, HasSubstr("load "));
  EXPECT_THAT(audit.stdout_text, HasSubstr(" CPUs"));
  ProgramResult verified = fleet_->alice->Run({"audit", "verify"});
  EXPECT_EQ(verified.exit_code, 0)
      << verified.stdout_text << verified.stderr_text;

  AlertingFleet::Answer agent =
      AlertingFleet::Metrics(fleet_->agent_metrics_port);
  ASSERT_EQ(agent.status, 200);
  EXPECT_THAT(agent.body, HasSubstr("opsagent_agent_requests_total{operation="
                                    "\"load\",outcome=\"ok\"}"));
  AlertingFleet::Answer controller =
      AlertingFleet::Metrics(fleet_->controller_metrics_port);
  ASSERT_EQ(controller.status, 200);
  EXPECT_THAT(controller.body,
              HasSubstr("opsagent_controller_requests_total{operation="
                        "\"load\",outcome=\"ok\"}"));

  ProgramResult help = fleet_->alice->Run({"load", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.stdout_text, HasSubstr("Usage: opsctl load HOST"));
  EXPECT_THAT(help.stdout_text, HasSubstr("Operation: load (read-only;"));
}

}  // namespace
}  // namespace opsagent
