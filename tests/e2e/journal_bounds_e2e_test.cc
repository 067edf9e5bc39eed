// Issue 20, hole 2, on real parts: the real opsctld, a real agent "web-1"
// linked to it keeping its journal in a real file, real opsctl.
// - A readonly operator's refused reads, each with the longest path and
//   reason, grow the journal by a bounded amount: bounded bytes a record,
//   and a bounded number of records a caller.
// - `opsctl audit reconcile` reads a journal larger than the link carries
//   in one message, page by page.
// - A message over a link's limit (a request over the agent's, a journal
//   page over the controller's) fails its call alone: the link stays up
//   and the next call on it works.

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "controller/agent_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/journal.pb.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TestController;
using ::testing::HasSubstr;
using ::testing::Not;

// A journal line, as an agent writes one.
std::string JournalLine(v1::JournalRecord record) {
  record.set_time(
      absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone()));
  std::string line;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(record, &line).ok());
  return line + "\n";
}

// A direct (break-glass) read, finished, with `text_bytes` of message: what
// an agent older than the bounds could have journaled.
std::string OldDirectRead(int i, size_t text_bytes) {
  v1::JournalRecord record;
  record.set_event(v1::JournalRecord::FINISHED);
  record.set_request_id(absl::StrCat("old-read-", i));
  record.set_operation("memory");
  record.set_caller("alice (oncall)");
  record.set_via("direct");
  record.set_status_code(5);
  record.set_status_message(std::string(text_bytes, 'm'));
  return JournalLine(record);
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size()))
    ++n;
  return n;
}

class JournalBoundsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDirectory();
    auto ca = TestCertificateAuthority::Create(dir_, "fleet");
    ASSERT_TRUE(ca.ok());
    ca_ = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));
    TestController::Options options;
    options.dir = dir_;
    options.ca = ca_.get();
    options.extra_config =
        "access { roles: \"readonly\" permissions: \"run\" }\n";
    auto controller = TestController::Start(options);
    ASSERT_TRUE(controller.ok()) << controller.status();
    controller_ = *std::move(controller);
    agent_dir_ = dir_ + "/web-1";
    mkdir(agent_dir_.c_str(), 0700);
    journal_ = agent_dir_ + "/journal.jsonl";
    root_ = dir_ + "/var";
    mkdir(root_.c_str(), 0700);
    auto alice = ca_->Issue("operator-alice", {"alice", {"oncall"}});
    ASSERT_TRUE(alice.ok());
    alice_ = std::make_unique<OpsctlRunner>(
        dir_, "alice", alice->certificate, alice->private_key,
        ca_->certificate_path(), "web-1", 1);
    alice_->AppendConfig(controller_->OpsctlConfig());
    auto rita = ca_->Issue("operator-rita", {"rita", {"readonly"}});
    ASSERT_TRUE(rita.ok());
    rita_files_ = *rita;
    rita_ = std::make_unique<OpsctlRunner>(dir_, "rita", rita->certificate,
                                           rita->private_key,
                                           ca_->certificate_path(), "web-1", 1);
    rita_->AppendConfig(controller_->OpsctlConfig());
  }

  // Starts the agent on a journal that already holds `journal` (written
  // by an earlier agent), and waits for its link.
  void StartAgent(const std::string& journal = "") {
    testing::WriteFileOrDie(journal_, journal);
    chmod(journal_.c_str(), 0600);
    TestAgent::Options agent;
    agent.dir = agent_dir_;
    agent.host_name = "web-1";
    agent.ca = ca_;
    agent.extra_config = absl::StrCat(
        controller_->AgentConfig(), "journal_path: \"", journal_, "\"\n",
        "inspection_roots: \"", root_, "\"\n",
        "authorization { roles: \"readonly\" operations: \"disk_usage\" "
        "operations: \"info\" }\n");
    auto started = TestAgent::Start(agent);
    ASSERT_TRUE(started.ok()) << started.status();
    agent_ = *std::move(started);
    ASSERT_TRUE(Eventually(
        [&] {
          return absl::StrContains(agent_->process->Log(),
                                   "connected to the controller");
        },
        absl::Seconds(60)));
  }

  // How many times the agent's link came up: one while it stays up.
  int Links() const {
    return Count(agent_->process->Log(), "connected to the controller");
  }

  std::string dir_, agent_dir_, journal_, root_;
  std::shared_ptr<TestCertificateAuthority> ca_;
  std::unique_ptr<TestController> controller_;
  std::unique_ptr<TestAgent> agent_;
  std::unique_ptr<OpsctlRunner> alice_;
  std::unique_ptr<OpsctlRunner> rita_;
  CertificateFiles rita_files_;
};

// The longest path and reason a readonly operator may send, to a path the
// agent refuses (its error quotes the path).
const std::string& LongPath() {
  static const std::string* path =
      new std::string(absl::StrCat("/etc/", std::string(4000, 'p')));
  return *path;
}
const std::string& LongReason() {
  static const std::string* reason = new std::string(1024, 'r');
  return *reason;
}

TEST_F(JournalBoundsE2eTest, ReadonlyRefusedReadsGrowTheJournalBoundedly) {
  StartAgent();
  // Relayed through the controller, as in the attack.
  for (int i = 0; i < 3; ++i) {
    ProgramResult r =
        rita_->Run({"du", "web-1", LongPath(), "--reason", LongReason()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.exit_code, -1) << r.stderr_text;
  }
  const std::string relayed = ReadFileOrDie(journal_);
  const int relayed_records = Count(relayed, "\n");
  ASSERT_GE(relayed_records, 6) << relayed;  // STARTED and FINISHED each
  // Each record well under what the request alone was (over 5 KiB).
  EXPECT_LT(relayed.size() / relayed_records, 1200u) << relayed;
  EXPECT_THAT(relayed, Not(HasSubstr(std::string(300, 'p'))));
  EXPECT_THAT(relayed, HasSubstr("parametersSha256"));

  // As fast as one connection goes, on the break-glass listener (every
  // call journaled there too, a controller being configured).
  v1::Host host;
  host.set_name("web-1");
  host.set_address(absl::StrCat("127.0.0.1:", agent_->port));
  auto client =
      AgentClient::Connect({rita_files_.certificate, rita_files_.private_key,
                            ca_->certificate_path()},
                           host, absl::Seconds(30));
  ASSERT_TRUE(client.ok()) << client.status();
  v1::DiskUsageRequest request;
  request.set_path(LongPath());
  request.mutable_meta()->set_reason(LongReason());
  constexpr int kReads = 400;
  const absl::Time started = absl::Now();
  for (int i = 0; i < kReads; ++i) {
    request.mutable_meta()->set_request_id(absl::StrCat("flood-", i));
    auto refused = (*client)->Call<v1::DiskUsageEvent>(request);
    ASSERT_FALSE(refused.ok());
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  // A burst of 100, then 10 a second, a caller.
  const int allowed = 100 + 1 + static_cast<int>(10 * seconds);
  const std::string journal = ReadFileOrDie(journal_);
  const std::string added = journal.substr(relayed.size());
  const int started_records = Count(added, "\"event\":\"STARTED\"");
  const int records = Count(added, "\n");
  EXPECT_GE(started_records, 90);
  EXPECT_LE(started_records, allowed);
  EXPECT_LT(added.size() / std::max(records, 1), 1200u);
  EXPECT_LT(added.size(), static_cast<size_t>(3 * allowed) * 1200);
  std::printf(
      "%d refused reads in %.1f s: journal grew %zu bytes, %d records "
      "(%zu bytes a record), %d of the reads journaled\n",
      kReads, seconds, added.size(), records,
      added.size() / std::max(records, 1), started_records);
  // What was left out is counted, and the count is in the next read of
  // the journal (reconcile's).
  ProgramResult reconcile =
      alice_->Run({"audit", "reconcile", "--since", "10m", "--output", "json"});
  EXPECT_NE(reconcile.exit_code, -1);
  EXPECT_THAT(ReadFileOrDie(journal_),
              HasSubstr("more refused calls/reads from rita (readonly) not "
                        "journaled"));
}

TEST_F(JournalBoundsE2eTest, ReconcileReadsAJournalOverTheLinksLimitByPages) {
  // About 17 MiB of reads in the window: more than the controller takes
  // in one message (16 MiB).
  std::string journal;
  constexpr int kOld = 1100;
  for (int i = 0; i < kOld; ++i) journal += OldDirectRead(i, 16000);
  ASSERT_GT(journal.size(), 16u << 20);
  StartAgent(journal);
  ProgramResult r =
      alice_->Run({"audit", "reconcile", "--since", "10m", "--output", "json"});
  // Break-glass reads are listed, not discrepancies.
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("\"compared\":true"));
  // The old records, and the reconcile's own reads (one a page).
  EXPECT_THAT(r.stdout_text, HasSubstr(absl::StrCat("\"findings\":", kOld,
                                                    ",\"journal_records\":")));
  EXPECT_THAT(r.stdout_text, HasSubstr("\"journal_pages\":5"));
  EXPECT_EQ(Count(r.stdout_text, "\"kind\":\"unlogged_read\""), kOld);
  EXPECT_EQ(Links(), 1) << agent_->process->Log();
}

TEST_F(JournalBoundsE2eTest, AnOversizedMessageFailsItsCallAloneNotTheLink) {
  // A record no page can leave out (at least one record a page), over what
  // the controller takes in one message.
  StartAgent(OldDirectRead(0, 17 << 20));
  // Agent to controller: the journal's page.
  ProgramResult reconcile =
      alice_->Run({"audit", "reconcile", "--since", "10m"});
  EXPECT_EQ(reconcile.exit_code, 7) << reconcile.stderr_text;
  EXPECT_THAT(reconcile.stderr_text, HasSubstr("not compared"));
  EXPECT_THAT(reconcile.stderr_text,
              HasSubstr("over the 16777216 bytes the controller's link takes"));
  ProgramResult next = alice_->Run({"info", "web-1"});
  EXPECT_EQ(next.exit_code, 0) << next.stderr_text;

  // Controller to agent: a request over what the agent's link takes.
  ProgramResult big = alice_->Run(
      {"du", "web-1", absl::StrCat(root_, "/", std::string(80000, 'q'))});
  EXPECT_NE(big.exit_code, 0);
  EXPECT_THAT(big.stderr_text, HasSubstr("over the 65536 bytes"));
  ProgramResult after = alice_->Run({"info", "web-1"});
  EXPECT_EQ(after.exit_code, 0) << after.stderr_text;

  // Neither ended the link: it came up once, and never went down.
  EXPECT_EQ(Links(), 1) << agent_->process->Log();
  EXPECT_THAT(agent_->process->Log(), Not(HasSubstr("link to the controller")));
}

}  // namespace
}  // namespace opsagent
