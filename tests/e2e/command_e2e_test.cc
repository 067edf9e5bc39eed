// Vetted commands end to end: the real agent runs declared commands with
// validated parameters; opsctl streams output and audits the tail.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_agent.h"

namespace opsagent {
namespace {

using ::opsagent::testing::OpsctlRunner;
using ::testing::HasSubstr;

class CommandE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::getenv("TEST_TMPDIR"));
    auto agent =
        ::opsagent::testing::TestAgent::Start(*dir_, "salt-production",
                                              absl::StrCat(
                                                  R"(command {
             name: "salt-state"
             argv: ["/bin/echo", "salt", "{target}", "state.sls", "{states}"]
             params { name: "target" type: REGEX pattern: "[A-Za-z0-9*._-]+" }
             params { name: "states" type: ENUM values: ["reddit.config", "reddit.config,pgbouncer"] }
           }
           command {
             name: "mark"
             argv: ["/usr/bin/touch", ")",
                                                  *dir_, R"(/{name}.marker"]
             params { name: "name" type: REGEX pattern: "[a-z]+" }
           }
           command { name: "slow" argv: ["/bin/sleep", "{seconds}"] timeout_seconds: 1
                     params { name: "seconds" type: INTEGER min: 1 max: 60 } }
           command { name: "fails" argv: ["/bin/ls", "/nonexistent"] }
           command { name: "admins-only" argv: ["/bin/true"] roles: "admin" }
           truncatable_logs: ")",
                                                  *dir_, R"(/*.log"
           restartable { name: "salt-master.service" manager: SYSTEMD_UNIT }
           restartable { name: "supervisor.service" manager: SYSTEMD_UNIT }
        )"));
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = agent->release();
    opsctl_ = agent_->Oncall("alice").release();
  }
  static void TearDownTestSuite() {
    delete agent_;
    agent_ = nullptr;
  }
  static bool Exists(const std::string& path) {
    return access(path.c_str(), F_OK) == 0;
  }

  static std::string* dir_;
  static ::opsagent::testing::TestAgent* agent_;
  static OpsctlRunner* opsctl_;
};

std::string* CommandE2eTest::dir_;
::opsagent::testing::TestAgent* CommandE2eTest::agent_;
OpsctlRunner* CommandE2eTest::opsctl_;

// `opsctl info HOST` says what the host allows before anyone asks: its
// truncatable globs, restartable services and vetted commands with their
// parameters, but never a command's argv.
TEST_F(CommandE2eTest, InfoListsWhatTheHostAllows) {
  ProgramResult info = opsctl_->Run({"info", "salt-production"});
  ASSERT_EQ(info.exit_code, 0) << info.stderr_text;
  EXPECT_THAT(info.stdout_text,
              HasSubstr("truncatable logs:  " + *dir_ + "/*.log"));
  EXPECT_THAT(info.stdout_text,
              HasSubstr("restartable:       salt-master.service, "
                        "supervisor.service"));
  EXPECT_THAT(info.stdout_text, HasSubstr("  salt-state\n"));
  EXPECT_THAT(info.stdout_text,
              HasSubstr("states=<one of reddit.config|reddit.config,"
                        "pgbouncer>"));
  EXPECT_THAT(info.stdout_text, HasSubstr("seconds=<integer 1..60>"));
  EXPECT_THAT(info.stdout_text, Not(HasSubstr("/bin/echo")));
  ProgramResult json =
      opsctl_->Run({"info", "salt-production", "--output", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.stderr_text;
  EXPECT_THAT(json.stdout_text, HasSubstr("\"restartable\""));
  EXPECT_THAT(json.stdout_text, HasSubstr("\"name\":\"admins-only\""));
  EXPECT_THAT(json.stdout_text, Not(HasSubstr("/bin/echo")));
}

TEST_F(CommandE2eTest, RunsTheTemplateWithValidatedValuesAndAuditsTheOutput) {
  ProgramResult r = opsctl_->Run(
      {"exec", "salt-production", "salt-state", "--param",
       "target=reddit-production*", "--param", "states=reddit.config,pgbouncer",
       "--yes", "--incident", "INC-3", "--ticket", "CHG-1042"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text,
            "salt reddit-production* state.sls reddit.config,pgbouncer\n");
  EXPECT_THAT(r.stderr_text, HasSubstr("[exit 0 in"));
  v1::AuditEntry row = opsctl_->AuditRows().back();
  EXPECT_EQ(row.outcome(), v1::OUTCOME_OK);
  EXPECT_TRUE(row.intent().mutating());
  EXPECT_EQ(row.intent().incident(), "INC-3");
  EXPECT_EQ(row.intent().ticket(), "CHG-1042");
  EXPECT_THAT(row.intent().parameters_json(),
              HasSubstr("\"target\":\"reddit-production*\""));
  EXPECT_THAT(row.result().summary(),
              HasSubstr("output tail:\nsalt reddit-production* state.sls"));
}

TEST_F(CommandE2eTest, BadParametersAreRefusedAndNothingRuns) {
  for (const std::vector<std::string>& params :
       std::vector<std::vector<std::string>>{
           {"--param", "name=x; touch evil"},
           {"--param", "name=--help"},
           {"--param", "name=ok", "--param", "extra=1"},
           {}}) {
    std::vector<std::string> args = {"exec", "salt-production", "mark",
                                     "--yes"};
    args.insert(args.end(), params.begin(), params.end());
    ProgramResult r = opsctl_->Run(args);
    EXPECT_EQ(r.exit_code, 1) << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr("parameter"));
  }
  EXPECT_FALSE(Exists(*dir_ + "/x; touch evil.marker"));
  EXPECT_FALSE(Exists(*dir_ + "/ok.marker"));
  ProgramResult dry = opsctl_->Run(
      {"exec", "salt-production", "mark", "--param", "name=ok", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.stderr_text;
  EXPECT_THAT(dry.stdout_text, HasSubstr("DRY RUN: would run: /usr/bin/touch " +
                                         *dir_ + "/ok.marker"));
  EXPECT_FALSE(Exists(*dir_ + "/ok.marker"));
  ASSERT_EQ(opsctl_
                ->Run({"exec", "salt-production", "mark", "--param", "name=ok",
                       "--yes"})
                .exit_code,
            0);
  EXPECT_TRUE(Exists(*dir_ + "/ok.marker"));
}

TEST_F(CommandE2eTest, FailuresTimeoutsAndRolesAreReported) {
  ProgramResult fails =
      opsctl_->Run({"exec", "salt-production", "fails", "--yes"});
  EXPECT_EQ(fails.exit_code, 1);
  EXPECT_THAT(fails.stderr_text,
              HasSubstr("No such file or directory"));  // streamed stderr
  EXPECT_THAT(fails.stderr_text, HasSubstr("fails exited with status 2"));
  ProgramResult slow = opsctl_->Run(
      {"exec", "salt-production", "slow", "--param", "seconds=30", "--yes"});
  EXPECT_EQ(slow.exit_code, 1);
  EXPECT_THAT(slow.stderr_text,
              HasSubstr("ran past its limit of 1s and was killed"));
  ProgramResult role =
      opsctl_->Run({"exec", "salt-production", "admins-only", "--yes"});
  EXPECT_EQ(role.exit_code, 3);
  EXPECT_THAT(role.stderr_text,
              HasSubstr("may not run admins-only (roles: admin)"));
  ProgramResult unknown =
      opsctl_->Run({"exec", "salt-production", "bash", "--yes"});
  EXPECT_EQ(unknown.exit_code, 3);
  EXPECT_THAT(unknown.stderr_text,
              HasSubstr("\"bash\" is not a command of this host"));
}

}  // namespace
}  // namespace opsagent
