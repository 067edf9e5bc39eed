// Runbook runs through the real opsctld (issue 21): a run for an incident
// acts on the incident's host alone, a run that names no host stops before
// anything is sent, a step's target expression is shown as the hosts it
// selects, and a guided step's confirmation is one row of the team's log
// with its incident and step, not a line of the operator's own file.

#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/controller_client.h"
#include "controller/operator_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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
using ::testing::Not;

// The controller's answer to a guided step's record sent straight to it.
absl::Status Record(ControllerClient& client,
                    const v1::GuidedStepRecord& record) {
  return client
      .Call(&ControllerStub::RecordGuidedStep, record, absl::Seconds(10))
      .status();
}

class RunbookE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDirectory();
    logs_ = dir_ + "/logs";
    mkdir(logs_.c_str(), 0700);
    testing::WriteFileOrDie(logs_ + "/app.log", std::string(64 << 10, 'x'));
    auto fleet = AlertingFleet::Start({dir_, logs_, ""});
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    // Read by opsctl at each run; the controller's own copy is for alerts.
    testing::WriteFileOrDie(
        fleet_->runbooks + "/console.textproto",
        absl::StrCat(
            "entry {\n  id: \"web-console\"\n  product: \"Web\"\n"
            "  alert: \"WebCredentialsLapsed\"\n"
            "  diagnosis { title: \"Filesystems\" opsctl: [\"df\", "
            "\"{target}\"] }\n"
            "  mitigation { title: \"Instance refresh of web-<ENVIRONMENT>\"\n"
            "    manual: \"Start an instance refresh of web-<ENVIRONMENT>. "
            "Be sure to un-check the \\\"Enable Skip Matching\\\" box.\" }\n"
            "  mitigation { title: \"Truncate the web logs\" opsctl: "
            "[\"truncate\", \"role:web\", \"",
            logs_,
            "/app.log\"] }\n}\n"
            "entry {\n  id: \"web-guided\"\n  alert: \"WebReport\"\n"
            "  mitigation { title: \"E-mail support\" manual: \"Write to "
            "support.\" }\n}\n"));
    AlertingFleet::Answer answer = fleet_->Post(
        AlertmanagerNotification(
            "firing", "DiskUsageWarning", "web-1:9100", "a1b2c3d4e5f60718",
            absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                             absl::Now() - absl::Minutes(2),
                             absl::UTCTimeZone())),
        fleet_->token);
    ASSERT_EQ(answer.status, 200) << answer.body;
    ASSERT_THAT(answer.body, HasSubstr("\"opened\":[\"INC-1\"]"));
    // Its automatic diagnosis writes to the team's log: done before a test
    // compares the log.
    ASSERT_TRUE(Eventually(
        [&] {
          return absl::StrContains(
              fleet_->alice->Run({"incidents"}).stdout_text, "ready");
        },
        absl::Seconds(30)))
        << fleet_->controller->Log();
  }

  // The team's log, as `opsctl audit --output json` prints it.
  std::string TeamLog() const {
    ProgramResult audit = fleet_->alice->Run({"audit", "--output", "json"});
    EXPECT_EQ(audit.exit_code, 0) << audit.stderr_text;
    return audit.stdout_text;
  }

  std::string dir_, logs_;
  std::unique_ptr<AlertingFleet> fleet_;
};

TEST_F(RunbookE2eTest, ShowPrintsGuidedStepsInFullWithTheEnvironment) {
  ProgramResult shown = fleet_->alice->Run(
      {"runbook", "show", "web-console", "--environment", "qa"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  EXPECT_THAT(shown.stdout_text,
              HasSubstr("Start an instance refresh of web-qa. Be sure to "
                        "un-check the \"Enable Skip Matching\" box."));
  EXPECT_THAT(shown.stdout_text, HasSubstr("Instance refresh of web-qa"));
  EXPECT_THAT(shown.stdout_text, Not(HasSubstr("<ENVIRONMENT>")));
}

// The runbooks live once, on the controller: an operator with no copy of
// their own reads them through it (an edit there is seen at the next
// command), and keeps the last answer for the night the controller is down.
TEST_F(RunbookE2eTest,
       OperatorsReadTheControllersRunbooksAndKeepThemForDirect) {
  const std::string home = dir_ + "/bob-home";
  mkdir(home.c_str(), 0700);
  auto cert = fleet_->ca->Issue("operator-bob", {"bob", {"oncall"}});
  ASSERT_TRUE(cert.ok()) << cert.status();
  testing::OpsctlRunner bob(home, "bob", cert->certificate, cert->private_key,
                            fleet_->ca->certificate_path(), "web-1", 1);
  bob.AppendConfig(fleet_->controller->OpsctlConfig());

  ProgramResult shown = bob.Run({"runbook", "show", "web-console"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  EXPECT_THAT(shown.stdout_text, HasSubstr("Truncate the web logs"));
  const std::string cache = home + "/runbooks.cache.textproto";
  struct stat st;
  ASSERT_EQ(stat(cache.c_str(), &st), 0) << cache;
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // One copy: an entry added on the controller is there at once.
  testing::WriteFileOrDie(
      fleet_->runbooks + "/extra.textproto",
      "entry {\n  id: \"web-extra\"\n  alert: \"WebExtra\"\n"
      "  diagnosis { title: \"Memory\" opsctl: [\"mem\", \"{target}\"] "
      "}\n}\n");
  EXPECT_THAT(bob.Run({"runbook", "list"}).stdout_text, HasSubstr("web-extra"));
  // A broken edit is said, not served in part; the cache keeps the last
  // good copy.
  testing::WriteFileOrDie(fleet_->runbooks + "/broken.textproto",
                          "entry { id: \"web-broken\" nonsense: 1 }\n");
  ProgramResult broken = bob.Run({"runbook", "list"});
  EXPECT_NE(broken.exit_code, 0);
  EXPECT_THAT(broken.stderr_text,
              HasSubstr("the controller's runbooks do not load"));
  EXPECT_THAT(broken.stderr_text, HasSubstr("broken.textproto"));
  unlink((fleet_->runbooks + "/broken.textproto").c_str());
  // Read at each call, so checked at each call: a file others could write
  // is no runbook, nor is a FIFO (it would hold every reader).
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string link = fleet_->runbooks + "/zz.textproto";
  ASSERT_EQ(symlink(fifo.c_str(), link.c_str()), 0);
  ProgramResult held = bob.Run({"runbook", "list"});
  EXPECT_NE(held.exit_code, 0);
  EXPECT_THAT(held.stderr_text, HasSubstr("is not a regular file"));
  unlink(link.c_str());
  const std::string open = fleet_->runbooks + "/open.textproto";
  testing::WriteFileOrDie(open, "");
  ASSERT_EQ(chmod(open.c_str(), 0666), 0);
  ProgramResult writable = bob.Run({"runbook", "list"});
  EXPECT_NE(writable.exit_code, 0);
  EXPECT_THAT(writable.stderr_text, HasSubstr("writable by others"));
  unlink(open.c_str());

  // Break-glass: no local directory, so the copy last served.
  ProgramResult direct = bob.Run({"--direct", "runbook", "show", "web-extra"});
  EXPECT_EQ(direct.exit_code, 0) << direct.stderr_text;
  EXPECT_THAT(direct.stdout_text, HasSubstr("Memory"));
  EXPECT_THAT(direct.stderr_text, HasSubstr("as last served"));
  // A cache others could have changed is not run from.
  ASSERT_EQ(chmod(cache.c_str(), 0666), 0);
  ProgramResult loose = bob.Run({"--direct", "runbook", "show", "web-extra"});
  EXPECT_NE(loose.exit_code, 0);
  EXPECT_THAT(loose.stderr_text, HasSubstr("is writable by others"));
  unlink((fleet_->runbooks + "/extra.textproto").c_str());
}

// Writing "the step was done" into the team's log is a permission of its
// own ("run" is also a viewer's), and only for a guided step the
// controller's runbooks have: nothing made up reaches the log.
TEST_F(RunbookE2eTest, OnlyConfirmMayRecordAGuidedStepAndOnlyARealOne) {
  // The automation identity has "run" and "hosts", not "confirm".
  ProgramResult automation = fleet_->automation->Run(
      {"runbook", "run", "web-console", "--host", "web-1", "--yes"});
  EXPECT_EQ(automation.exit_code, 5) << automation.stderr_text;
  EXPECT_THAT(automation.stderr_text,
              HasSubstr("cannot record the confirmation"));
  const std::string before = TeamLog();
  EXPECT_THAT(before, Not(HasSubstr("guided_step")));

  absl::StatusOr<v1::OperatorConfig> config =
      LoadOperatorConfig(fleet_->alice->config_path());
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::unique_ptr<ControllerClient>> client =
      ControllerClient::Connect(*config);
  ASSERT_TRUE(client.ok()) << client.status();
  v1::GuidedStepRecord record;
  record.set_entry("web-console");
  record.set_phase("mitigation");
  record.set_step("Instance refresh of web-<ENVIRONMENT>");
  record.set_run_id("run-forged");
  record.set_incident("INC-1");
  record.set_confirmed(true);
  const std::vector<std::function<void(v1::GuidedStepRecord&)>> forgeries = {
      [](v1::GuidedStepRecord& r) { r.set_step("Restored from backup"); },
      [](v1::GuidedStepRecord& r) { r.set_entry("no-such-entry"); },
      [](v1::GuidedStepRecord& r) { r.set_phase("diagnosis"); }};
  for (const auto& forge : forgeries) {
    v1::GuidedStepRecord forged = record;
    forge(forged);
    absl::Status refused = Record(**client, forged);
    EXPECT_TRUE(absl::IsNotFound(refused)) << refused;
  }
  // "Truncate the web logs" is a step of web-console, but not a guided one.
  v1::GuidedStepRecord not_guided = record;
  not_guided.set_step("Truncate the web logs");
  EXPECT_TRUE(absl::IsNotFound(Record(**client, not_guided)));
  // A negative uid is how old rows say "unknown", and leaves the uid and
  // SUDO_USER out of the row's digest: no claim of one is recorded.
  v1::GuidedStepRecord no_uid = record;
  no_uid.mutable_claims()->set_os_uid(-1);
  absl::Status refused_uid = Record(**client, no_uid);
  EXPECT_TRUE(absl::IsInvalidArgument(refused_uid)) << refused_uid;
  EXPECT_THAT(refused_uid.message(), HasSubstr("claims.os_uid"));
  // A field this opsctld does not declare (a caller of another release) is
  // refused, never dropped unread, nested ones too.
  v1::GuidedStepRecord newer = record;
  newer.mutable_claims()
      ->GetReflection()
      ->MutableUnknownFields(newer.mutable_claims())
      ->AddVarint(99, 1);
  absl::Status refused_newer = Record(**client, newer);
  EXPECT_TRUE(absl::IsInvalidArgument(refused_newer)) << refused_newer;
  EXPECT_THAT(refused_newer.message(), HasSubstr("this opsctld does not know"));
  EXPECT_EQ(TeamLog(), before);
  // The real one is recorded.
  EXPECT_TRUE(Record(**client, record).ok());
  EXPECT_THAT(TeamLog(), HasSubstr("run-forged"));
}

TEST_F(RunbookE2eTest, ARunWithoutAHostStopsBeforeAnythingIsSent) {
  const std::string before = TeamLog();
  ProgramResult run = fleet_->alice->Run({"runbook", "run", "web-console"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.stderr_text,
              HasSubstr("runbook web-console acts on a host and none was "
                        "given: give --host HOST"));
  EXPECT_THAT(run.stdout_text, Not(HasSubstr("---")));
  // An expression is not a host.
  ProgramResult expression = fleet_->alice->Run(
      {"runbook", "run", "web-console", "--host", "role:web"});
  EXPECT_EQ(expression.exit_code, 2);
  EXPECT_THAT(expression.stderr_text,
              HasSubstr("--host takes one host's name"));
  EXPECT_EQ(TeamLog(), before);
}

// A value filled into a step (an operator's --var, an alert's mountpoint or
// device) is data: one that would become a flag (--yes, --output, --direct)
// is refused before anything runs, and a step is checked again with its
// values, not only with the placeholders it was loaded with.
TEST_F(RunbookE2eTest, AValueThatWouldBecomeAFlagIsRefused) {
  testing::WriteFileOrDie(
      fleet_->runbooks + "/flags.textproto",
      "entry {\n  id: \"web-du\"\n  alert: \"WebDisk\"\n"
      "  diagnosis { title: \"Largest\" opsctl: [\"du\", \"{target}\", "
      "\"{mountpoint}\"] automatic: true }\n}\n");
  const std::string before = TeamLog();
  for (const std::string value :
       {"--yes", "--output=json", "--direct", "-x", "--reason=planted"}) {
    ProgramResult run = fleet_->alice->Run(
        {"runbook", "run", "web-du", "--host", "web-1", "--var",
         absl::StrCat("mountpoint=", value), "--diagnosis-only"});
    EXPECT_EQ(run.exit_code, 2) << value << ": " << run.stderr_text;
    EXPECT_THAT(run.stderr_text, HasSubstr("cannot become a flag")) << value;
  }
  EXPECT_EQ(TeamLog(), before);
  // A path is a value like any other, and a value no step uses (an alert's
  // device, here) stops nothing.
  ProgramResult run =
      fleet_->alice->Run({"runbook", "run", "web-du", "--host", "web-1",
                          "--var", absl::StrCat("mountpoint=", logs_), "--var",
                          "device=--yes", "--diagnosis-only"});
  EXPECT_THAT(run.stderr_text, Not(HasSubstr("cannot become a flag")));
  EXPECT_NE(TeamLog(), before) << run.stderr_text;
}

TEST_F(RunbookE2eTest, AGuidedConfirmationIsInTheTeamsLogWithItsIncident) {
  // --incident alone: the incident's host (web-1) is the run's.
  ProgramResult run = fleet_->alice->Run(
      {"runbook", "run", "web-console", "--incident", "INC-1", "--yes"});
  ASSERT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
  EXPECT_THAT(run.stdout_text, HasSubstr("target web-1, run "));
  EXPECT_THAT(run.stdout_text, HasSubstr("$ opsctl df web-1"));
  // The step's "role:web" is shown, asked about and run as the hosts it
  // selects, by name.
  EXPECT_THAT(run.stdout_text,
              HasSubstr("$ opsctl truncate web-1 " + logs_ + "/app.log"));
  const google::protobuf::Value log = ParseJson(TeamLog());
  int guided = 0;
  for (const google::protobuf::Value& row : log.list_value().values()) {
    if (JsonField(row, "operation").string_value() != "guided_step") continue;
    ++guided;
    EXPECT_EQ(JsonField(row, "incident").string_value(), "INC-1");
    EXPECT_EQ(JsonField(row, "cert_identity").string_value(), "alice");
    EXPECT_EQ(JsonField(row, "outcome").string_value(), "ok");
    const google::protobuf::Value& parameters = JsonField(row, "parameters");
    EXPECT_EQ(JsonField(parameters, "entry").string_value(), "web-console");
    EXPECT_EQ(JsonField(parameters, "phase").string_value(), "mitigation");
    EXPECT_EQ(JsonField(parameters, "step").string_value(),
              "Instance refresh of web-<ENVIRONMENT>");
  }
  EXPECT_EQ(guided, 1) << TeamLog();
  // The truncation says which step of which runbook it was for.
  EXPECT_THAT(TeamLog(), HasSubstr("\"reason\":\"runbook web-console, "
                                   "mitigation step 2: Truncate the web "
                                   "logs\""));
  // Not in alice's own file: the team's log is the one record.
  for (const v1::AuditEntry& row : fleet_->alice->AuditRows())
    EXPECT_NE(row.intent().operation(), "guided_step");
}

TEST_F(RunbookE2eTest, AConfirmationForAnIncidentThatDoesNotExistIsRefused) {
  // Named alone, it is looked up for its host, and is not there.
  ProgramResult lookup = fleet_->alice->Run(
      {"runbook", "run", "web-guided", "--incident", "INC-99", "--yes"});
  EXPECT_EQ(lookup.exit_code, 2);
  EXPECT_THAT(lookup.stderr_text, HasSubstr("INC-99"));
  // With a host, the controller refuses to file the confirmation under it.
  ProgramResult run =
      fleet_->alice->Run({"runbook", "run", "web-guided", "--host", "web-1",
                          "--incident", "INC-99", "--yes"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.stderr_text,
              HasSubstr("cannot record the confirmation of mitigation step 1 "
                        "in the audit log"));
  EXPECT_THAT(run.stderr_text, HasSubstr("INC-99"));
  EXPECT_THAT(TeamLog(), Not(HasSubstr("guided_step")));
}

}  // namespace
}  // namespace opsagent
