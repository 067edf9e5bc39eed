// The agent's own journal end to end: every change is on disk before it
// acts, survives a crash of the agent, and answers a retried request id
// after a restart instead of acting twice.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "controller/agent_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "opsagent/v1/journal.pb.h"
#include "tests/testing/test_agent.h"

namespace opsagent {
namespace {

using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

class AgentJournalE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDirectory();
    mkdir((dir_ + "/logs").c_str(), 0700);
    journal_ = dir_ + "/journal.jsonl";
    auto agent = TestAgent::Start(
        dir_, "localhost",
        absl::StrCat("journal_path: \"", journal_, "\"\n",
                     "truncatable_logs: \"", dir_, "/logs/*.log\"\n",
                     R"(command { name: "pause" argv: ["/bin/sleep", "3"] })"));
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
  }

  std::vector<v1::JournalRecord> Records() const {
    std::vector<v1::JournalRecord> records;
    for (absl::string_view line :
         absl::StrSplit(ReadFileOrDie(journal_), '\n', absl::SkipEmpty())) {
      v1::JournalRecord record;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line),
                                                              &record)
                      .ok())
          << line;
      records.push_back(record);
    }
    return records;
  }

  std::string dir_;
  std::string journal_;
  std::unique_ptr<TestAgent> agent_;
};

TEST_F(AgentJournalE2eTest, EveryChangeIsJournaledBeforeAndAfter) {
  const std::string log = dir_ + "/logs/app.log";
  WriteFileOrDie(log, std::string(100000, 'x'));
  ProgramResult r = agent_->Oncall("alice")->Run(
      {"truncate", "localhost", log, "--yes", "--incident", "INC-7", "--reason",
       "disk alert"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  // Read-only calls are not journaled.
  ASSERT_EQ(agent_->Oncall("alice")->Run({"mem", "localhost"}).exit_code, 0);

  std::vector<v1::JournalRecord> records = Records();
  ASSERT_EQ(records.size(), 2u) << ReadFileOrDie(journal_);
  const v1::JournalRecord& started = records[0];
  const v1::JournalRecord& finished = records[1];
  EXPECT_EQ(started.event(), v1::JournalRecord::STARTED);
  EXPECT_EQ(started.operation(), "truncate_log");
  EXPECT_THAT(started.caller(), HasSubstr("alice"));
  EXPECT_EQ(started.incident(), "INC-7");
  EXPECT_EQ(started.reason(), "disk alert");
  v1::TruncateLogRequest request;
  ASSERT_TRUE(started.request().UnpackTo(&request));
  EXPECT_EQ(request.path(), log);
  EXPECT_EQ(finished.event(), v1::JournalRecord::FINISHED);
  EXPECT_EQ(finished.request_id(), started.request_id());
  EXPECT_EQ(finished.status_code(), 0);
  v1::TruncateLogReply reply;
  ASSERT_TRUE(reply.ParseFromString(finished.reply()));
  EXPECT_EQ(reply.size_before_bytes(), 100000u);
  struct stat st;
  ASSERT_EQ(stat(journal_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(AgentJournalE2eTest, ARetryAfterTheAgentRestartedDoesNotActAgain) {
  const std::string log = dir_ + "/logs/app.log";
  WriteFileOrDie(log, std::string(5000, 'x'));
  v1::TruncateLogRequest request;
  request.mutable_meta()->set_request_id("journal-retry-1");
  request.set_path(log);
  {
    auto client = agent_->Client();
    ASSERT_TRUE(client.ok()) << client.status();
    auto first = (*client)->Call<v1::TruncateLogReply>(request);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(first->size_before_bytes(), 5000u);
  }
  WriteFileOrDie(log, "written after the truncation\n");

  ASSERT_TRUE(agent_->Restart().ok());
  auto client = agent_->Client();
  ASSERT_TRUE(client.ok()) << client.status();
  auto retried = (*client)->Call<v1::TruncateLogReply>(request);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->size_before_bytes(), 5000u);  // the first outcome
  EXPECT_EQ(ReadFileOrDie(log), "written after the truncation\n");
  EXPECT_THAT(agent_->process->Log(), HasSubstr("2 earlier records"));
  EXPECT_THAT(agent_->process->Log(), HasSubstr("replayed truncate_log"));

  // A new id acts.
  request.mutable_meta()->set_request_id("journal-retry-2");
  auto fresh = (*client)->Call<v1::TruncateLogReply>(request);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(ReadFileOrDie(log), "");
}

// A request id names one request of one caller, across restarts: another
// operator presenting it, or the same operator with other parameters, is
// refused, and nothing is done or journaled for either.
TEST_F(AgentJournalE2eTest, ARequestIdCannotBeReusedByAnotherCallerOrRequest) {
  const std::string log = dir_ + "/logs/app.log";
  const std::string other = dir_ + "/logs/other.log";
  WriteFileOrDie(log, std::string(5000, 'x'));
  WriteFileOrDie(other, std::string(7000, 'y'));
  v1::TruncateLogRequest request;
  request.mutable_meta()->set_request_id("reused-1");
  request.set_path(log);
  {
    auto alice = agent_->Client();
    ASSERT_TRUE(alice.ok());
    ASSERT_TRUE((*alice)->Call<v1::TruncateLogReply>(request).ok());
  }
  ASSERT_TRUE(agent_->Restart().ok());
  const size_t records = Records().size();
  struct stat before;
  ASSERT_EQ(stat(other.c_str(), &before), 0);

  auto bob_files = agent_->ca->Issue("bob", {"bob", {"oncall"}});
  ASSERT_TRUE(bob_files.ok());
  v1::Host host;
  host.set_name("localhost");
  host.set_address(absl::StrCat("127.0.0.1:", agent_->port));
  auto bob =
      AgentClient::Connect({bob_files->certificate, bob_files->private_key,
                            agent_->ca->certificate_path()},
                           host, absl::Seconds(30));
  ASSERT_TRUE(bob.ok());
  v1::TruncateLogRequest stolen = request;
  stolen.set_path(other);
  auto by_bob = (*bob)->Call<v1::TruncateLogReply>(stolen);
  EXPECT_EQ(by_bob.status().code(), absl::StatusCode::kAlreadyExists)
      << by_bob.status();
  EXPECT_THAT(by_bob.status().message(), HasSubstr("another call"));

  auto alice = agent_->Client();
  ASSERT_TRUE(alice.ok());
  v1::TruncateLogRequest changed = request;
  changed.set_path(other);
  auto by_alice = (*alice)->Call<v1::TruncateLogReply>(changed);
  EXPECT_EQ(by_alice.status().code(), absl::StatusCode::kAlreadyExists)
      << by_alice.status();
  EXPECT_THAT(by_alice.status().message(), HasSubstr("a different request"));

  // Nothing changed: the other file, its inode, and the journal.
  struct stat after;
  ASSERT_EQ(stat(other.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(ReadFileOrDie(other), std::string(7000, 'y'));
  EXPECT_EQ(Records().size(), records);
  EXPECT_THAT(agent_->process->Log(),
              Not(HasSubstr("start truncate_log by bob")));
}

TEST_F(AgentJournalE2eTest, AChangeCutByACrashIsUnknownNotRepeated) {
  v1::RunCommandRequest request;
  request.mutable_meta()->set_request_id("journal-crash-1");
  request.set_name("pause");
  std::thread caller([&] {
    auto client = agent_->Client();
    ASSERT_TRUE(client.ok());
    auto cut = (*client)->Call<v1::RunCommandEvent>(request);
    EXPECT_FALSE(cut.ok());  // the agent died under it
  });
  // Crash the agent once the change is on record as started.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (Records().empty() && absl::Now() < give_up)
    absl::SleepFor(absl::Milliseconds(20));
  ASSERT_EQ(Records().size(), 1u);
  ASSERT_TRUE(agent_->Restart().ok());
  caller.join();

  auto client = agent_->Client();
  ASSERT_TRUE(client.ok()) << client.status();
  auto retried = (*client)->Call<v1::RunCommandEvent>(request);
  ASSERT_FALSE(retried.ok());
  EXPECT_EQ(retried.status().code(), absl::StatusCode::kUnknown)
      << retried.status();
  EXPECT_THAT(retried.status().message(),
              HasSubstr("the agent stopped before it finished"));
  EXPECT_THAT(retried.status().message(), HasSubstr("not run again"));
  // Nothing new was started for it.
  EXPECT_EQ(Records().size(), 1u);
}

TEST_F(AgentJournalE2eTest, AnAgentThatCannotOpenItsJournalDoesNotStart) {
  auto broken = TestAgent::Start(
      dir_ + "/logs", "localhost",
      absl::StrCat("journal_path: \"", dir_, "/missing/journal.jsonl\"\n"));
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("journal_path"));
  EXPECT_THAT(broken.status().message(), HasSubstr("missing"));
}

}  // namespace
}  // namespace opsagent
