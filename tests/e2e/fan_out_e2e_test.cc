// Fan-out over real agents: three opsagent processes on loopback, each with
// its own certificate name, plus an inventory host where nothing listens and
// one cut off from the network: a listener that completes TCP handshakes and
// then never answers, as a host behind a partition that drops every packet
// of an established connection looks to opsctl. (A socket stands in for the
// network here; the controller sees the same silent connection.)

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
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
using ::testing::Not;

class FanOutE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = std::getenv("TEST_TMPDIR");
    auto ca =
        ::opsagent::testing::TestCertificateAuthority::Create(dir, "fleet");
    ASSERT_TRUE(ca.ok());
    auto oncall = (*ca)->Issue("oncall", {"alice", {"oncall"}});
    // The dead host comes first in inventory order: a port nothing listens
    // on.
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
      const std::string agent_dir = absl::StrCat(dir, "/", names[i]);
      mkdir(agent_dir.c_str(), 0755);
      auto agent = AgentProcess::Start(
          agent_dir,
          absl::StrCat(
              "listen_address: \"127.0.0.1:0\"\ntls { certificate: \"",
              cert->certificate, "\" private_key: \"", cert->private_key,
              "\" ca_certificate: \"", (*ca)->certificate_path(),
              "\" }\nhostname: \"", names[i],
              "\"\nauthorization { roles: \"oncall\" operations: \"*\" }\n",
              // Output that names the host it came from.
              "command { name: \"whoami\" argv: [\"/bin/echo\", \"output of ",
              names[i], "\"] }\n"));
      ASSERT_TRUE(agent.ok()) << agent.status();
      const int port = (*agent)->port();
      agents_.push_back(*std::move(agent));
      absl::StrAppend(&inventory, "host { name: \"", names[i],
                      "\" address: \"127.0.0.1:", port, "\" roles: \"",
                      i < 2 ? "reddit" : "salt-master",
                      "\" environment: \"production\" }\n");
    }
    silent_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ASSERT_EQ(bind(silent_, reinterpret_cast<sockaddr*>(&address), length), 0);
    ASSERT_EQ(listen(silent_, 64), 0);
    ASSERT_EQ(
        getsockname(silent_, reinterpret_cast<sockaddr*>(&address), &length),
        0);
    absl::StrAppend(&inventory,
                    "host { name: \"cut-staging-1\" address: \"127.0.0.1:",
                    ntohs(address.sin_port),
                    "\" roles: \"reddit\" environment: \"staging\" }\n");
    opsctl_ = std::make_unique<OpsctlRunner>(
        dir, ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        oncall->certificate, oncall->private_key, (*ca)->certificate_path(),
        "unused", 1);
    opsctl_->WriteInventory(inventory);
  }

  void TearDown() override { close(silent_); }

  std::vector<std::unique_ptr<AgentProcess>> agents_;
  std::unique_ptr<OpsctlRunner> opsctl_;
  int silent_ = -1;  // the cut-off host: accepts, never answers
};

// A person is asked about a change by the names of the hosts it will touch,
// not by the expression that selects them; saying no sends nothing.
TEST_F(FanOutE2eTest, AChangeOnAnExpressionAsksByTheHostsNames) {
  ProgramResult declined = opsctl_->RunOnTerminal(
      {"exec", "role:salt-master,env:production", "whoami"}, "n");
  EXPECT_EQ(declined.exit_code, 2) << declined.stdout_text;
  EXPECT_THAT(declined.stdout_text,
              HasSubstr("Run whoami on 1 host: salt-production "
                        "(role:salt-master,env:production)? [y/N]"));
  EXPECT_THAT(declined.stdout_text, HasSubstr("nothing was sent"));
  EXPECT_TRUE(opsctl_->AuditRows().empty());

  ProgramResult agreed = opsctl_->RunOnTerminal(
      {"exec", "role:reddit,env:production", "whoami"}, "y");
  EXPECT_THAT(agreed.stdout_text,
              HasSubstr("on 3 hosts: reddit-production-3, reddit-production-1, "
                        "reddit-production-2 (role:reddit,env:production)?"));
  EXPECT_THAT(agreed.stdout_text, HasSubstr("output of reddit-production-1"));
  EXPECT_THAT(agreed.stdout_text,
              ::testing::Not(HasSubstr("output of salt-production")));
  EXPECT_EQ(opsctl_->AuditRows().size(), 3u);
}

TEST_F(FanOutE2eTest, GlobReachesEveryMatchingHostAndReportsTheDeadOne) {
  ProgramResult r =
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
  std::vector<v1::AuditEntry> rows = opsctl_->AuditRows();
  ASSERT_EQ(rows.size(), 3u);
  const std::string run = rows[0].intent().run_id();
  EXPECT_FALSE(run.empty());
  for (const v1::AuditEntry& row : rows) EXPECT_EQ(row.intent().run_id(), run);
  ProgramResult timeline =
      opsctl_->Run({"audit", "--run", run, "--output", "json"});
  EXPECT_EQ(ParseJson(timeline.stdout_text).list_value().values_size(), 3);
}

TEST_F(FanOutE2eTest, RolesAndEnvironmentsCombineAndJsonIsOneObjectPerHost) {
  ProgramResult r = opsctl_->Run(
      {"info", "role:salt-master,env:production", "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(std::count(r.stdout_text.begin(), r.stdout_text.end(), '\n'), 1);
  const google::protobuf::Value json = ParseJson(r.stdout_text);
  EXPECT_EQ(JsonField(json, "host").string_value(), "salt-production");
  EXPECT_EQ(JsonField(JsonField(json, "result"), "hostname").string_value(),
            "salt-production");
  ProgramResult all =
      opsctl_->Run({"info", "env:production", "--output", "json"});
  EXPECT_EQ(std::count(all.stdout_text.begin(), all.stdout_text.end(), '\n'),
            4);
}

// Issue 21: a fan-out `exec` printed each host's output as it streamed,
// before that host's header, so the output read as the previous host's.
TEST_F(FanOutE2eTest, EachHostsCommandOutputFollowsItsOwnHeader) {
  const std::vector<std::string> hosts = {
      "reddit-production-1", "reddit-production-2", "salt-production"};
  ProgramResult r =
      opsctl_->Run({"exec", absl::StrJoin(hosts, ","), "whoami", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  const std::vector<std::string> lines =
      absl::StrSplit(r.stdout_text, '\n', absl::SkipEmpty());
  for (const std::string& host : hosts) {
    const auto header = std::find(lines.begin(), lines.end(),
                                  absl::StrCat("=== ", host, ": ok"));
    ASSERT_NE(header, lines.end()) << r.stdout_text;
    ASSERT_NE(header + 1, lines.end()) << r.stdout_text;
    EXPECT_EQ(*(header + 1), absl::StrCat("output of ", host)) << r.stdout_text;
  }
}

TEST_F(FanOutE2eTest, ErrorBudgetStopsStartingHosts) {
  // One host at a time; the first (the dead one) spends the budget of one.
  ProgramResult r = opsctl_->Run(
      {"mem", "reddit*", "--concurrency", "1", "--max-failures", "1"});
  EXPECT_EQ(r.exit_code, 4) << r.stderr_text;
  EXPECT_THAT(r.stderr_text,
              HasSubstr("0 ok, 0 error, 0 denied, 1 unreachable, 0 unknown, 2 "
                        "not started (error budget spent)"));
  EXPECT_EQ(opsctl_->AuditRows().size(), 1u);  // the others were never sent
}

// The deadline leaves the healthy hosts room to answer on a loaded machine
// under ASan (2 s did not always); the cut-off host never answers at all.
TEST_F(FanOutE2eTest, AHostCutOffMidFanOutMissesItsDeadlineAndOthersFinish) {
  const absl::Time start = absl::Now();
  ProgramResult r = opsctl_->Run(
      {"mem", "reddit-production-1,reddit-production-2,cut-staging-1",
       "--timeout", "10"});
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.exit_code, 1) << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("=== reddit-production-1: ok\n"));
  EXPECT_THAT(r.stdout_text, HasSubstr("=== reddit-production-2: ok\n"));
  EXPECT_THAT(r.stdout_text, HasSubstr("=== cut-staging-1: error\n"));
  EXPECT_THAT(r.stderr_text,
              HasSubstr("cut-staging-1: deadline exceeded: no complete answer "
                        "within 10s"));
  EXPECT_THAT(r.stderr_text, HasSubstr("2 ok, 1 error, 0 denied"));
  EXPECT_THAT(r.stderr_text, Not(HasSubstr("cancel_check_peer")));
  EXPECT_LT(took, absl::Seconds(40));  // bounded by the deadline, not hung
}

TEST_F(FanOutE2eTest, AControllerKilledMidFanOutLeavesItsIntentsOnRecord) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  absl::StatusOr<Subprocess> opsctl = opsctl_->Start(
      {"mem", "reddit-production-1,reddit-production-2,cut-staging-1",
       "--timeout", "60", "--incident", "INC-9"},
      dir + "/killed.out", dir + "/killed.err");
  ASSERT_TRUE(opsctl.ok()) << opsctl.status();
  // Kill it once the two live hosts answered and only the cut one is open.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  auto finished = [this] {
    int ok = 0;
    for (const v1::AuditEntry& row : opsctl_->AuditRows())
      ok += row.outcome() == v1::OUTCOME_OK;
    return ok;
  };
  while (finished() < 2 && absl::Now() < give_up)
    absl::SleepFor(absl::Milliseconds(20));
  ASSERT_EQ(finished(), 2);
  opsctl->Signal(SIGKILL);
  ASSERT_EQ(*opsctl->Wait(absl::Seconds(10)), 128 + SIGKILL);

  std::vector<v1::AuditEntry> rows = opsctl_->AuditRows();
  ASSERT_EQ(rows.size(), 3u);
  int pending = 0;
  for (const v1::AuditEntry& row : rows) {
    EXPECT_EQ(row.intent().incident(), "INC-9");
    EXPECT_EQ(row.intent().run_id(), rows[0].intent().run_id());
    if (row.outcome() == v1::OUTCOME_PENDING) {
      ++pending;
      EXPECT_EQ(row.intent().host(), "cut-staging-1");
    }
  }
  EXPECT_EQ(pending, 1);
  ProgramResult listed = opsctl_->Run({"audit", "--incident", "INC-9"});
  EXPECT_THAT(listed.stdout_text, HasSubstr("pending"));
  ProgramResult verify = opsctl_->Run({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text << verify.stderr_text;
}

}  // namespace
}  // namespace opsagent
