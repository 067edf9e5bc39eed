// Truncation as on-call meets it: a writer that does not use O_APPEND is
// named, with what it means (the file grows back sparse to its old size),
// and the agent's own files can never be made truncatable.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"

namespace opsagent {
namespace {

namespace fs = std::filesystem;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

class TruncateE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDirectory();
    fs::create_directories(dir_ + "/logs");
  }
  std::string dir_;
};

TEST_F(TruncateE2eTest, AWriterWithoutAppendIsNamedAndWhatItMeansSaid) {
  auto agent = TestAgent::Start(
      dir_, "localhost",
      absl::StrCat("truncatable_logs: \"", dir_, "/logs/*.log\"\n"));
  ASSERT_TRUE(agent.ok()) << agent.status();
  const std::string log = dir_ + "/logs/app.log";
  WriteFileOrDie(log, std::string(2 << 20, 'x'));
  auto writer =
      Subprocess::Start({{"tests/testing/log_writer", "--no-append", log}});
  ASSERT_TRUE(writer.ok());
  absl::SleepFor(absl::Milliseconds(100));

  ProgramResult cut =
      (*agent)->Oncall("alice")->Run({"truncate", "localhost", log, "--yes"});
  ASSERT_EQ(cut.exit_code, 0) << cut.stderr_text;
  EXPECT_THAT(cut.stdout_text,
              HasSubstr(absl::StrCat("WARNING: log_writer (pid ", writer->pid(),
                                     ") writes to it without O_APPEND")));
  EXPECT_THAT(cut.stdout_text,
              HasSubstr("grows back to its old apparent size"));
  EXPECT_THAT(cut.stdout_text, HasSubstr("on disk"));

  // What the warning said: the next write puts the file back at its old
  // size, as a hole, while its blocks stay free.
  absl::SleepFor(absl::Milliseconds(200));
  struct stat st;
  ASSERT_EQ(stat(log.c_str(), &st), 0);
  EXPECT_GE(static_cast<uint64_t>(st.st_size), 2u << 20);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 256u << 10);

  // In JSON, for scripts: the holder is flagged.
  ProgramResult json = (*agent)->Oncall("alice")->Run(
      {"truncate", "localhost", log, "--dry-run", "--output", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.stderr_text;
  const google::protobuf::Value reply = ParseJson(json.stdout_text);
  const auto& holders =
      JsonField(JsonField(reply, "result"), "holders").list_value();
  ASSERT_EQ(holders.values_size(), 1);
  EXPECT_TRUE(
      JsonField(holders.values(0), "writes_without_append").bool_value());
}

TEST_F(TruncateE2eTest, AnAppendingWriterGetsNoWarning) {
  auto agent = TestAgent::Start(
      dir_, "localhost",
      absl::StrCat("truncatable_logs: \"", dir_, "/logs/*.log\"\n"));
  ASSERT_TRUE(agent.ok()) << agent.status();
  const std::string log = dir_ + "/logs/app.log";
  WriteFileOrDie(log, std::string(1 << 20, 'x'));
  auto writer = Subprocess::Start({{"tests/testing/log_writer", log}});
  ASSERT_TRUE(writer.ok());
  absl::SleepFor(absl::Milliseconds(100));
  ProgramResult cut =
      (*agent)->Oncall("alice")->Run({"truncate", "localhost", log, "--yes"});
  ASSERT_EQ(cut.exit_code, 0) << cut.stderr_text;
  EXPECT_THAT(cut.stdout_text, HasSubstr("held open by log_writer"));
  EXPECT_THAT(cut.stdout_text, Not(HasSubstr("WARNING")));
}

TEST_F(TruncateE2eTest, TheAgentsOwnFilesCanNeverBeTruncatable) {
  for (const std::string& own :
       {std::string("journal_path: \"") + dir_ + "/logs/journal.log\"\n",
        std::string("journal_path: \"") + dir_ + "/logs/x.jsonl\"\n"}) {
    auto agent = TestAgent::Start(
        dir_, "localhost",
        absl::StrCat(own, "truncatable_logs: \"", dir_, "/logs/*\"\n"));
    ASSERT_FALSE(agent.ok()) << own;
    EXPECT_THAT(agent.status().message(),
                HasSubstr("the agent's own files can never be truncatable"));
    EXPECT_THAT(agent.status().message(), HasSubstr("journal_path"));
  }
}

}  // namespace
}  // namespace opsagent
