// Several controllers in one operator config (issue 25): the real opsctl,
// two real opsctld and a real agent over real mutual TLS, one CA for all.
// opsctl moves to the next controller only when the first certainly got
// nothing, or for a read; a change that may have been sent is reported
// unknown and never sent again through the other controller.
//
// The agent links to one controller only here: an agent linked to several
// at once (agent_config `more_controllers`) is not what these tests prove.

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "opsagent/v1/journal.pb.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/sqlite_file.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::QuerySqliteInt;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TestController;
using ::testing::HasSubstr;
using ::testing::Not;

// How many times the agent's journal says `operation` started.
int StartsIn(const std::string& journal, const std::string& operation) {
  int starts = 0;
  for (absl::string_view line :
       absl::StrSplit(ReadFileOrDie(journal), '\n', absl::SkipEmpty())) {
    v1::JournalRecord record;
    if (google::protobuf::util::JsonStringToMessage(std::string(line), &record)
            .ok() &&
        record.event() == v1::JournalRecord::STARTED &&
        record.operation() == operation)
      ++starts;
  }
  return starts;
}

// Rows in a controller's team log (none when it never created one).
int64_t TeamRows(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return 0;
  absl::StatusOr<int64_t> rows =
      QuerySqliteInt(path, "SELECT COUNT(*) FROM actions");
  return rows.ok() ? *rows : -1;
}

// Two controllers, A (`controller`) and B (`more_controllers`), and one
// agent, app-1, linked to the one the test names.
class ControllerFailoverE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0700);
    auto ca = TestCertificateAuthority::Create(dir_, "team");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));
    for (const char* name : {"a", "b"}) {
      TestController::Options options;
      options.dir = absl::StrCat(dir_, "/", name);
      mkdir(options.dir.c_str(), 0700);
      options.ca = ca_.get();
      auto started = TestController::Start(options);
      ASSERT_TRUE(started.ok()) << started.status();
      controllers_.push_back(*std::move(started));
    }
    auto alice = ca_->Issue("operator-alice", {"alice", {"oncall"}});
    ASSERT_TRUE(alice.ok());
    alice_ = std::make_unique<OpsctlRunner>(
        dir_, "alice", alice->certificate, alice->private_key,
        ca_->certificate_path(), "app-1", 1);
    alice_->AppendConfig(
        absl::StrCat(a().OpsctlConfig(), "more_controllers { address: \"",
                     Address(b()), "\" name: \"opsctld.test\" }\n"));
  }

  // app-1, linked to `controller` only.
  void StartAgent(TestController& controller) {
    const std::string agent_dir = dir_ + "/app-1";
    mkdir(agent_dir.c_str(), 0700);
    journal_ = agent_dir + "/journal.jsonl";
    TestAgent::Options options;
    options.dir = agent_dir;
    options.host_name = "app-1";
    options.ca = ca_;
    options.extra_config = absl::StrCat(
        controller.AgentConfig(), "journal_path: \"", journal_, "\"\n",
        "command { name: \"slow\" argv: \"/bin/sleep\" argv: \"3\" "
        "timeout_seconds: 10 }\n",
        "command { name: \"quick\" argv: \"/bin/true\" timeout_seconds: 10 "
        "}\n");
    auto agent = TestAgent::Start(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
    ASSERT_TRUE(Eventually([&] {
      return absl::StrContains(agent_->process->Log(),
                               "connected to the controller");
    })) << agent_->process->Log();
  }

  static std::string Address(const TestController& controller) {
    return absl::StrCat("127.0.0.1:", controller.port());
  }
  TestController& a() { return *controllers_[0]; }
  TestController& b() { return *controllers_[1]; }

  std::string dir_;
  std::shared_ptr<TestCertificateAuthority> ca_;
  std::vector<std::unique_ptr<TestController>> controllers_;
  std::unique_ptr<TestAgent> agent_;
  std::string journal_;
  std::unique_ptr<OpsctlRunner> alice_;
};

TEST_F(ControllerFailoverE2eTest,
       ReadsAndUnsentChangesGoToTheNextWhenTheFirstIsDown) {
  StartAgent(b());
  const std::string dead = Address(a());
  a().Kill();  // nothing listens on its port any more

  const absl::Time started = absl::Now();
  ProgramResult hosts = alice_->Run({"hosts", "--output", "json"});
  const absl::Duration took = absl::Now() - started;
  ASSERT_EQ(hosts.exit_code, 0) << hosts.stderr_text;
  // One line for the move, on stderr; the output says who answered.
  EXPECT_THAT(hosts.stderr_text,
              HasSubstr(absl::StrCat("controller ", dead, " unreachable (")));
  EXPECT_THAT(hosts.stderr_text,
              HasSubstr(absl::StrCat("); using ", Address(b()), "\n")));
  EXPECT_THAT(hosts.stdout_text, HasSubstr("\"name\":\"app-1\""));
  EXPECT_THAT(hosts.stdout_text,
              HasSubstr(absl::StrCat("\"controller\":\"", Address(b()), "\"")));
  // A refused connection moves on at once, not after a timeout.
  EXPECT_LT(took, absl::Seconds(3));
  std::fprintf(stderr, "opsctl hosts with the first controller down: %lld ms\n",
               static_cast<long long>(absl::ToInt64Milliseconds(took)));

  ProgramResult mem = alice_->Run({"mem", "app-1", "--output", "json"});
  ASSERT_EQ(mem.exit_code, 0) << mem.stderr_text;
  EXPECT_THAT(mem.stdout_text,
              HasSubstr(absl::StrCat("\"controller\":\"", Address(b()), "\"")));

  // A change that reached no controller is sent to the next: once.
  ProgramResult quick =
      alice_->Run({"exec", "app-1", "quick", "--yes", "--output", "json"});
  ASSERT_EQ(quick.exit_code, 0) << quick.stderr_text;
  EXPECT_THAT(quick.stderr_text,
              HasSubstr(absl::StrCat("using ", Address(b()))));
  EXPECT_EQ(StartsIn(journal_, "run_command"), 1);
}

// A first controller that accepts connections but never completes the TLS
// handshake (stopped; a host that drops packets looks the same) is left
// after the connect limit (5 s), not after the whole --timeout.
TEST_F(ControllerFailoverE2eTest,
       AHungFirstControllerIsLeftAfterTheConnectLimit) {
  StartAgent(b());
  ASSERT_EQ(kill(a().pid(), SIGSTOP), 0);
  const absl::Time started = absl::Now();
  ProgramResult hosts = alice_->Run({"hosts", "--output", "json"});
  const absl::Duration took = absl::Now() - started;
  kill(a().pid(), SIGCONT);
  ASSERT_EQ(hosts.exit_code, 0) << hosts.stderr_text;
  EXPECT_THAT(hosts.stderr_text,
              HasSubstr(absl::StrCat("controller ", Address(a()),
                                     " unreachable (not connected within 5s); "
                                     "using ",
                                     Address(b()))));
  EXPECT_GE(took, absl::Seconds(5));
  EXPECT_LT(took, absl::Seconds(8));
  std::fprintf(stderr, "opsctl hosts with the first controller hung: %lld ms\n",
               static_cast<long long>(absl::ToInt64Milliseconds(took)));
}

TEST_F(ControllerFailoverE2eTest, AllControllersDownSaysSoForEachAndExits4) {
  StartAgent(b());
  a().Kill();
  b().Kill();
  ProgramResult hosts = alice_->Run({"hosts"});
  EXPECT_EQ(hosts.exit_code, 4) << hosts.stderr_text;
  EXPECT_THAT(hosts.stderr_text,
              HasSubstr("cannot reach any of the 2 controllers"));
  EXPECT_THAT(hosts.stderr_text, HasSubstr("--direct"));
}

// A's team log is held by someone else, so A takes the run and waits to
// record its intent before it says the run started; A then dies. The
// change may have been sent: opsctl says its outcome is unknown, how to
// find it out, and does not send it through B.
TEST_F(ControllerFailoverE2eTest, AChangeLostBeforeItStartedIsNotSentAgain) {
  StartAgent(a());
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(a().audit_path().c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(holder);
  auto run =
      alice_->Start({"exec", "app-1", "quick", "--yes", "--output", "json"},
                    dir_ + "/run.out", dir_ + "/run.err");
  ASSERT_TRUE(run.ok());
  // Time for opsctl to choose the host and send the run to A.
  absl::SleepFor(absl::Seconds(2));
  a().Kill();
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  absl::StatusOr<int> exit = run->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok());
  const std::string out = ReadFileOrDie(dir_ + "/run.out");
  const std::string err = ReadFileOrDie(dir_ + "/run.err");
  EXPECT_EQ(*exit, 6) << out << err;
  EXPECT_THAT(out, HasSubstr("\"outcome\":\"unknown\""));
  EXPECT_THAT(out, HasSubstr("opsctl audit reconcile --host app-1"));
  EXPECT_THAT(out, HasSubstr("is not sent again through another controller"));
  EXPECT_THAT(err, Not(HasSubstr("using ")));
  // B never saw it, and the agent never ran it.
  EXPECT_EQ(TeamRows(b().audit_path()), 0);
  EXPECT_EQ(StartsIn(journal_, "run_command"), 0);
}

// A dies while the agent runs the change: the result never comes, the
// change is unknown (exit 6), and B is not asked to run it again; the agent
// ran it once.
TEST_F(ControllerFailoverE2eTest, AChangeCutOffMidCallIsNotSentAgain) {
  StartAgent(a());
  auto run =
      alice_->Start({"exec", "app-1", "slow", "--yes", "--output", "json"},
                    dir_ + "/run.out", dir_ + "/run.err");
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(agent_->process->Log(), "start run_command");
  }));
  a().Kill();
  absl::StatusOr<int> exit = run->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok());
  const std::string out = ReadFileOrDie(dir_ + "/run.out");
  const std::string err = ReadFileOrDie(dir_ + "/run.err");
  EXPECT_EQ(*exit, 6) << out << err;
  EXPECT_THAT(out, HasSubstr("\"outcome\":\"unknown\""));
  EXPECT_THAT(out,
              HasSubstr(absl::StrCat("\"controller\":\"", Address(a()), "\"")));
  EXPECT_THAT(err, Not(HasSubstr("using ")));
  EXPECT_EQ(TeamRows(b().audit_path()), 0);
  // The agent finishes what it started, once.
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(StartsIn(journal_, "run_command"), 1);
}

}  // namespace
}  // namespace opsagent
