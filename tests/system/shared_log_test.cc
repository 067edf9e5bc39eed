// Two controllers, one team log (issue 25): a real PostgreSQL 15 server
// (Debian's binaries, started by the test as an unprivileged user), two real
// opsctld on it with one checkpoint key, and three real agents each linked
// to both. A fan-out is cut by kill -9 of its controller: its calls stay
// `unknown`, never `ok`, and the next command goes through the other
// controller at once; the signing lease passes to the survivor; the
// combined log verifies and reconciles with every host's journal.

#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/postgres/pg_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::Eventually;
using ::opsagent::testing::Occurrences;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::PostgresServer;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TestController;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;

constexpr int kAgents = 3;

class SharedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0700);
    auto server = PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    postgres_ = *std::move(server);
    auto conninfo = postgres_->CreateDatabase("team");
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = *conninfo;
    auto ca = TestCertificateAuthority::Create(dir_, "fleet");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));
    const std::string keys = dir_ + "/keys";
    mkdir(keys.c_str(), 0700);
    ASSERT_TRUE(testing::WriteEd25519Key(keys + "/checkpoint.key").ok());
    for (const char* which : {"a", "b"}) {
      const std::string controller_dir = absl::StrCat(dir_, "/opsctld-", which);
      mkdir(controller_dir.c_str(), 0700);
      const std::string conninfo_file = controller_dir + "/postgresql.conf";
      WriteFileOrDie(conninfo_file, conninfo_ + "\n");
      chmod(conninfo_file.c_str(), 0600);
      TestController::Options options;
      options.dir = controller_dir;
      options.ca = ca_.get();
      options.name = absl::StrCat("opsctld-", which, ".test");
      options.extra_config = absl::StrCat(
          "postgresql { conninfo_file: \"", conninfo_file,
          "\" controller_name: \"", options.name, "\" }\n",
          "audit_checkpoints { key_file: \"", keys,
          "/checkpoint.key\" every_events: 6 every_seconds: 1 export_file: \"",
          keys, "/exported-", which, ".jsonl\" }\n");
      auto started = TestController::Start(options);
      ASSERT_TRUE(started.ok()) << started.status();
      controllers_.push_back(*std::move(started));
    }
    for (int i = 1; i <= kAgents; ++i) {
      const std::string host = absl::StrCat("web-", i);
      const std::string agent_dir = absl::StrCat(dir_, "/", host);
      mkdir(agent_dir.c_str(), 0700);
      TestAgent::Options options;
      options.dir = agent_dir;
      options.host_name = host;
      options.ca = ca_;
      options.listener = false;
      options.extra_config = absl::StrCat(
          controllers_[0]->AgentConfig("controller"),
          controllers_[1]->AgentConfig("more_controllers"), "journal_path: \"",
          agent_dir, "/journal.jsonl\"\n",
          "command { name: \"slow\" argv: [\"/usr/bin/sleep\", \"4\"] }\n");
      auto agent = TestAgent::Start(options);
      ASSERT_TRUE(agent.ok()) << agent.status();
      agents_.push_back(*std::move(agent));
    }
    for (const auto& agent : agents_) {
      for (const auto& controller : controllers_) {
        const std::string linked =
            absl::StrCat("connected to the controller ", controller->name());
        ASSERT_TRUE(Eventually([&] {
          return absl::StrContains(agent->process->Log(), linked);
        })) << agent->process->Log();
      }
    }
    // On-call's config lists both controllers, A first.
    alice_ = std::make_unique<OpsctlRunner>(
        dir_, "alice", agents_[0]->oncall.certificate,
        agents_[0]->oncall.private_key, ca_->certificate_path(), "web-1", 1);
    alice_->AppendConfig(absl::StrCat(
        controllers_[0]->OpsctlConfig(), "more_controllers { address: \"",
        "127.0.0.1:", controllers_[1]->port(), "\" name: \"",
        controllers_[1]->name(), "\" }\n"));
  }

  // How many rows of `operation` have `outcome` in the shared log.
  int64_t Rows(const std::string& operation, const std::string& outcome) {
    auto db = PgConnection::Connect(conninfo_, "test");
    if (!db.ok()) return -1;
    auto count =
        (*db)->Query("counting",
                     "SELECT count(*) FROM actions WHERE operation = $1 AND "
                     "outcome = $2",
                     {operation, outcome});
    return count.ok() ? count->row(0).Int(0) : -1;
  }

  std::string dir_;
  std::string conninfo_;
  std::unique_ptr<PostgresServer> postgres_;
  std::shared_ptr<TestCertificateAuthority> ca_;
  std::vector<std::unique_ptr<TestController>> controllers_;
  std::vector<std::unique_ptr<TestAgent>> agents_;
  std::unique_ptr<OpsctlRunner> alice_;
};

TEST_F(SharedLogTest,
       AControllerKilledMidFanOutLeavesUnknownAndTheOtherServes) {
  const std::string hosts = "web-1,web-2,web-3";
  auto fan_out =
      alice_->Start({"exec", hosts, "slow", "--yes", "--reason", "drill"},
                    dir_ + "/fan_out.out", dir_ + "/fan_out.err");
  ASSERT_TRUE(fan_out.ok()) << fan_out.status();
  // Every intent is on disk (in PostgreSQL) before its call is sent.
  ASSERT_TRUE(Eventually([&] { return Rows("run_command", "pending") == 3; }))
      << Rows("run_command", "pending");
  controllers_[0]->Kill();
  absl::StatusOr<int> exit_code = fan_out->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok());
  const std::string err = testing::ReadFileOrDie(dir_ + "/fan_out.err");
  EXPECT_EQ(*exit_code, 6) << err;  // unknown: never re-sent elsewhere
  EXPECT_THAT(err, HasSubstr("opsctl audit reconcile --host web-1"));
  EXPECT_THAT(err, HasSubstr("not sent again"));
  // The next command goes through B at once: every agent is linked to it.
  ProgramResult info = alice_->Run({"info", hosts, "--output", "json"});
  EXPECT_EQ(info.exit_code, 0) << info.stderr_text;
  EXPECT_THAT(info.stderr_text, HasSubstr("using"));
  for (int i = 1; i <= kAgents; ++i)
    EXPECT_THAT(info.stdout_text, HasSubstr(absl::StrCat("\"web-", i, "\"")));
  // A's calls are A's: B does not settle them (they may still be running).
  EXPECT_EQ(Rows("run_command", "pending"), 3);
  EXPECT_EQ(Rows("run_command", "ok"), 0);
  // A back: its interrupted calls become unknown, never ok.
  ASSERT_TRUE(controllers_[0]->Restart().ok());
  EXPECT_TRUE(Eventually([&] { return Rows("run_command", "unknown") == 3; }));
  EXPECT_EQ(Rows("run_command", "ok"), 0);
  // One log for both, verified by each, and what it says matches every
  // host's journal (the calls ran there: reconcile names them).
  absl::SleepFor(absl::Seconds(5));  // the slow commands end on the hosts
  for (const auto& controller : controllers_) {
    OpsctlRunner via(dir_, absl::StrCat("alice-", controller->name()),
                     agents_[0]->oncall.certificate,
                     agents_[0]->oncall.private_key, ca_->certificate_path(),
                     "web-1", 1);
    via.AppendConfig(controller->OpsctlConfig());
    ProgramResult verify = via.Run({"audit", "verify"});
    EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text << verify.stderr_text;
    EXPECT_THAT(verify.stdout_text, HasSubstr("checkpoint(s)"));
  }
  // Reconcile names exactly what the kill left open: the log says
  // unknown, the host ran it (exit 7, a finding per host); nothing else.
  for (int i = 1; i <= kAgents; ++i) {
    const std::string host = absl::StrCat("web-", i);
    ProgramResult reconciled =
        alice_->Run({"audit", "reconcile", "--host", host});
    EXPECT_EQ(reconciled.exit_code, 7) << reconciled.stderr_text;
    EXPECT_EQ(Occurrences(reconciled.stdout_text, "outcome_differs"), 1)
        << reconciled.stdout_text;
    EXPECT_THAT(reconciled.stdout_text,
                HasSubstr(absl::StrCat("the team log says unknown; ", host,
                                       " finished it ok")));
    // The header and that one finding.
    EXPECT_EQ(Occurrences(reconciled.stdout_text, "\n"), 2)
        << reconciled.stdout_text;
  }
}

TEST_F(SharedLogTest, ALeaseHeldByAnotherSessionStopsSigningUntilItEnds) {
  // Someone with the database's credentials holds the signing lease (a
  // session of their own): no controller signs meanwhile, so nothing is
  // signed twice or forked; once that session ends, one of them signs.
  auto count = [&] {
    auto db = PgConnection::Connect(conninfo_, "test");
    if (!db.ok()) return int64_t{-1};
    auto rows =
        (*db)->Query("counting", "SELECT count(*) FROM audit_checkpoints");
    return rows.ok() ? rows->row(0).Int(0) : int64_t{-1};
  };
  // The lease holder's session is ended (as a DBA's pg_terminate_backend
  // would), and the squatter takes the lease before the controller's next
  // try.
  auto squatter = PgConnection::Connect(conninfo_, "squatter");
  ASSERT_TRUE(squatter.ok()) << squatter.status();
  ASSERT_TRUE(Eventually([&] {
    (*squatter)
        ->Exec("ending the holder's session",
               "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE "
               "locktype = 'advisory' AND classid = 7061 AND objid = 2 AND "
               "pid != pg_backend_pid()")
        .IgnoreError();
    auto taken =
        (*squatter)->Query("squatting", "SELECT pg_try_advisory_lock(7061, 2)");
    return taken.ok() && taken->row(0).Int(0) == 1;
  }));
  const int64_t before = count();
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(alice_->Run({"info", "web-1,web-2,web-3"}).exit_code, 0);
  absl::SleepFor(absl::Seconds(4));  // every_seconds is 1
  EXPECT_EQ(count(), before);
  squatter->reset();
  EXPECT_TRUE(Eventually([&] { return count() > before; }));
}

TEST_F(SharedLogTest, TheSigningLeasePassesWhenItsHolderDies) {
  auto checkpoints = [&] {
    auto db = PgConnection::Connect(conninfo_, "test");
    if (!db.ok()) return int64_t{-1};
    auto count =
        (*db)->Query("counting", "SELECT count(*) FROM audit_checkpoints");
    return count.ok() ? count->row(0).Int(0) : int64_t{-1};
  };
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(alice_->Run({"info", "web-1,web-2,web-3"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return checkpoints() >= 1; }));
  // A started first and signs. Killed, B takes the lease and signs what
  // follows; nothing is signed twice, nothing is left out.
  controllers_[0]->Kill();
  const int64_t before = checkpoints();
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(alice_->Run({"info", "web-1,web-2,web-3"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return checkpoints() > before; }));
  OpsctlRunner via_b(dir_, "alice-b", agents_[0]->oncall.certificate,
                     agents_[0]->oncall.private_key, ca_->certificate_path(),
                     "web-1", 1);
  via_b.AppendConfig(controllers_[1]->OpsctlConfig());
  ProgramResult verify = via_b.Run({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text << verify.stderr_text;
  // The log and every journal agree: nothing was cut off.
  for (int i = 1; i <= kAgents; ++i) {
    ProgramResult reconciled =
        via_b.Run({"audit", "reconcile", "--host", absl::StrCat("web-", i)});
    EXPECT_EQ(reconciled.exit_code, 0)
        << reconciled.stdout_text << reconciled.stderr_text;
    EXPECT_THAT(reconciled.stdout_text + reconciled.stderr_text,
                HasSubstr("0 discrepancies"));
  }
  // B's export file holds every checkpoint, A's too.
  const std::string exported =
      testing::ReadFileOrDie(dir_ + "/keys/exported-b.jsonl");
  EXPECT_THAT(exported, HasSubstr("\"number\":1,"));
}

}  // namespace
}  // namespace opsagent
