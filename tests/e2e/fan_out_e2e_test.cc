// Fan-out over real agents: three opsagent processes on loopback, each with
// its own certificate name, plus an inventory host where nothing listens.

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AgentProcess;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::testing::HasSubstr;

class FanOutE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = std::getenv("TEST_TMPDIR");
    auto ca =
        ::opsagent::testing::TestCertificateAuthority::Create(dir, "fleet");
    ASSERT_TRUE(ca.ok());
    auto oncall = (*ca)->Issue("oncall", {"alice", {"oncall"}});
    // The dead host comes first in inventory order.
    std::string inventory = absl::StrCat(
        "host { name: \"reddit-production-3\" address: \"127.0.0.1:",
        ::opsagent::testing::PickFreePort(),
        "\" roles: \"reddit\" environment: \"production\" }\n");
    const char* names[] = {"reddit-production-1", "reddit-production-2",
                           "salt-production"};
    for (int i = 0; i < 3; ++i) {
      ::opsagent::testing::CertificateSpec spec{
          names[i], {}, {names[i]}, {"127.0.0.1"}};
      spec.server = true;
      auto cert = (*ca)->Issue(names[i], spec);
      const int port = ::opsagent::testing::PickFreePort();
      const std::string agent_dir = absl::StrCat(dir, "/", names[i]);
      mkdir(agent_dir.c_str(), 0755);
      auto agent = AgentProcess::Start(
          agent_dir,
          absl::StrCat(
              "listen_address: \"127.0.0.1:", port, "\"\ntls { certificate: \"",
              cert->certificate, "\" private_key: \"", cert->private_key,
              "\" ca_certificate: \"", (*ca)->certificate_path(),
              "\" }\nhostname: \"", names[i],
              "\"\nauthorization { roles: \"oncall\" operations: \"*\" }\n"));
      ASSERT_TRUE(agent.ok()) << agent.status();
      agents_.push_back(*std::move(agent));
      absl::StrAppend(&inventory, "host { name: \"", names[i],
                      "\" address: \"127.0.0.1:", port, "\" roles: \"",
                      i < 2 ? "reddit" : "salt-master",
                      "\" environment: \"production\" }\n");
    }
    opsctl_ = std::make_unique<OpsctlRunner>(
        dir, ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        oncall->certificate, oncall->private_key, (*ca)->certificate_path(),
        "unused", 1);
    opsctl_->WriteInventory(inventory);
  }

  std::vector<std::unique_ptr<AgentProcess>> agents_;
  std::unique_ptr<OpsctlRunner> opsctl_;
};

TEST_F(FanOutE2eTest, GlobReachesEveryMatchingHostAndReportsTheDeadOne) {
  CommandResult r =
      opsctl_->Run({"mem", "reddit-production*", "--incident", "INC-5"});
  EXPECT_EQ(r.exit_code, 4)
      << r.stderr_text;  // every failure was "unreachable"
  EXPECT_THAT(r.stdout_text, HasSubstr("=== reddit-production-1: ok\n"));
  EXPECT_THAT(r.stdout_text, HasSubstr("=== reddit-production-2: ok\n"));
  EXPECT_THAT(r.stdout_text,
              HasSubstr("=== reddit-production-3: unreachable\n"));
  EXPECT_THAT(r.stdout_text, ::testing::Not(HasSubstr("salt-production")));
  EXPECT_THAT(r.stderr_text, HasSubstr("3 hosts in"));
  EXPECT_THAT(r.stderr_text,
              HasSubstr("2 ok, 0 error, 0 denied, 1 unreachable"));
  EXPECT_THAT(r.stderr_text,
              HasSubstr("not ok: reddit-production-3 (unreachable)"));

  // One audit row per host, all under one run id.
  std::vector<AuditRecord> rows = opsctl_->AuditRows();
  ASSERT_EQ(rows.size(), 3u);
  const std::string run = rows[0].intent.run_id;
  EXPECT_FALSE(run.empty());
  for (const AuditRecord& row : rows) EXPECT_EQ(row.intent.run_id, run);
  CommandResult timeline =
      opsctl_->Run({"audit", "--run", run, "--output", "json"});
  EXPECT_EQ(ParseJson(timeline.stdout_text).list_value().values_size(), 3);
}

TEST_F(FanOutE2eTest, RolesAndEnvironmentsCombineAndJsonIsOneObjectPerHost) {
  CommandResult r = opsctl_->Run(
      {"info", "role:salt-master,env:production", "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(std::count(r.stdout_text.begin(), r.stdout_text.end(), '\n'), 1);
  const google::protobuf::Value json = ParseJson(r.stdout_text);
  EXPECT_EQ(JsonField(json, "host").string_value(), "salt-production");
  EXPECT_EQ(JsonField(JsonField(json, "result"), "hostname").string_value(),
            "salt-production");
  CommandResult all =
      opsctl_->Run({"info", "env:production", "--output", "json"});
  EXPECT_EQ(std::count(all.stdout_text.begin(), all.stdout_text.end(), '\n'),
            4);
}

TEST_F(FanOutE2eTest, ErrorBudgetStopsStartingHosts) {
  // One host at a time; the first (the dead one) spends the budget of one.
  CommandResult r = opsctl_->Run(
      {"mem", "reddit*", "--concurrency", "1", "--max-failures", "1"});
  EXPECT_EQ(r.exit_code, 4) << r.stderr_text;
  EXPECT_THAT(r.stderr_text,
              HasSubstr("0 ok, 0 error, 0 denied, 1 unreachable, 0 unknown, 2 "
                        "not started (error budget spent)"));
  EXPECT_EQ(opsctl_->AuditRows().size(), 1u);  // the others were never sent
}

}  // namespace
}  // namespace opsagent
