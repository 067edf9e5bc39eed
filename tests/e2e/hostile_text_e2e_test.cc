// Text from a host cannot blind or rewrite on-call's tools. Any local user
// can name a file or a process with bytes that are not UTF-8 or with escape
// sequences a terminal obeys; the real agent and opsctl must carry such names
// faithfully (escaped, reversibly), show them escaped in every output, keep
// serving the rest of the host, and let the operator act on them by the name
// opsctl showed. A certificate name with control characters is no identity.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
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
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::TestAgent;
using ::testing::HasSubstr;
using ::testing::Not;

// A name that is not UTF-8 and sets the terminal's title.
const std::string kRawName = "bad\xff\x1b]0;owned\x07.log";
const std::string kShownName = "bad\\xff\\x1b]0;owned\\x07.log";
// A process name (15 bytes at most) setting the title, then not UTF-8.
const std::string kRawProcess = "\x1b]0;pw\x07\xfe";

// Nothing a terminal would act on, and nothing that is not UTF-8.
void ExpectInert(const std::string& output, const std::string& what) {
  EXPECT_THAT(output, Not(HasSubstr("\x1b"))) << what;
  EXPECT_THAT(output, Not(HasSubstr("\x07"))) << what;
  EXPECT_THAT(output, Not(HasSubstr("\xff"))) << what;
  EXPECT_THAT(output, Not(HasSubstr("\xfe"))) << what;
  EXPECT_THAT(output, Not(HasSubstr("\r"))) << what;
}

class HostileTextE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::getenv("TEST_TMPDIR");
    root_ = dir_ + "/edx";
    fs::create_directories(root_ + "/log");
    std::ofstream(root_ + "/log/" + kRawName) << std::string(3 << 20, 'x');
    std::ofstream(root_ + "/log/new\nline.log") << "y";
    auto agent = TestAgent::Start(
        dir_, "localhost",
        absl::StrCat(
            "inspection_roots: \"", root_, "\"\n", "truncatable_logs: \"",
            root_, "/log/*.log\"\n",
            "command { name: \"banner\" argv: \"/usr/bin/printf\" "
            "argv: \"\\\\033]0;owned\\\\007\\\\033[2Kdone\\\\n\" }\n"));
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
    oncall_ = agent_->Oncall("oncall");
    auto writer =
        Subprocess::Start({{"tests/testing/log_writer", "--name", kRawProcess,
                            "--delete", root_ + "/held.log"}});
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = std::make_unique<Subprocess>(*std::move(writer));
    absl::SleepFor(absl::Milliseconds(200));
  }

  std::string dir_;
  std::string root_;
  std::unique_ptr<TestAgent> agent_;
  std::unique_ptr<OpsctlRunner> oncall_;
  std::unique_ptr<Subprocess> writer_;
};

TEST_F(HostileTextE2eTest, EveryCommandServesTheHostAndShowsNamesEscaped) {
  ProgramResult du = oncall_->Run({"du", "localhost", root_});
  ASSERT_EQ(du.exit_code, 0) << du.stderr_text;
  EXPECT_THAT(du.stdout_text, HasSubstr(kShownName));
  EXPECT_THAT(du.stdout_text, HasSubstr("new\\x0aline.log"));
  ExpectInert(du.stdout_text + du.stderr_text, "du");

  ProgramResult du_json =
      oncall_->Run({"du", "localhost", root_, "--output", "json"});
  ASSERT_EQ(du_json.exit_code, 0) << du_json.stderr_text;
  ExpectInert(du_json.stdout_text, "du --output json");
  const auto files =
      JsonField(JsonField(ParseJson(du_json.stdout_text), "result"),
                "largest_files")
          .list_value();
  ASSERT_GT(files.values_size(), 0);
  EXPECT_EQ(JsonField(files.values(0), "path").string_value(),
            root_ + "/log/" + kShownName);

  ProgramResult mem = oncall_->Run({"mem", "localhost", "--top", "100"});
  ASSERT_EQ(mem.exit_code, 0) << mem.stderr_text;
  ExpectInert(mem.stdout_text + mem.stderr_text, "mem");

  ProgramResult held = oncall_->Run({"open-deleted", "localhost"});
  ASSERT_EQ(held.exit_code, 0) << held.stderr_text;
  EXPECT_THAT(held.stdout_text, HasSubstr("\\x1b]0;pw\\x07\\xfe"));
  EXPECT_THAT(held.stdout_text, HasSubstr(root_ + "/held.log"));
  ExpectInert(held.stdout_text + held.stderr_text, "open-deleted");

  // The name opsctl showed is the name to act on.
  ProgramResult cut =
      oncall_->Run({"truncate", "localhost", root_ + "/log/" + kShownName,
                    "--yes", "--reason", "=HYPERLINK(\"http://evil\")"});
  ASSERT_EQ(cut.exit_code, 0) << cut.stderr_text;
  EXPECT_EQ(fs::file_size(root_ + "/log/" + kRawName), 0u);
  ExpectInert(cut.stdout_text + cut.stderr_text, "truncate");

  // A vetted command's own output reaches the terminal escaped too.
  ProgramResult banner = oncall_->Run({"exec", "localhost", "banner", "--yes"});
  ASSERT_EQ(banner.exit_code, 0) << banner.stderr_text;
  EXPECT_THAT(banner.stdout_text, HasSubstr("\\x1b]0;owned\\x07\\x1b[2Kdone"));
  ExpectInert(banner.stdout_text + banner.stderr_text, "exec");

  ProgramResult audit = oncall_->Run({"audit"});
  ASSERT_EQ(audit.exit_code, 0) << audit.stderr_text;
  EXPECT_THAT(audit.stdout_text, HasSubstr("\\xff"));
  ExpectInert(audit.stdout_text, "audit");
  ProgramResult csv = oncall_->Run({"audit", "--output", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.stderr_text;
  ExpectInert(csv.stdout_text, "audit --output csv");
  EXPECT_THAT(csv.stdout_text,
              HasSubstr("\"'=HYPERLINK(\"\"http://evil\"\")\""));
  EXPECT_THAT(csv.stdout_text, Not(HasSubstr(",=HYPERLINK")));

  // The agent logged every call as it went, on one line each, escaped.
  const std::string log = agent_->process->Log();
  ExpectInert(log, "agent log");
  EXPECT_THAT(log, HasSubstr("done disk_usage"));
  EXPECT_THAT(log, HasSubstr("done open_deleted"));
}

TEST_F(HostileTextE2eTest, ACertificateNameWithControlCharactersIsNoIdentity) {
  auto forged = agent_->ca->Issue(
      "eve", {"eve\n2026-12-01T00:00:00.000 done by alice", {"oncall"}});
  ASSERT_TRUE(forged.ok()) << forged.status();
  OpsctlRunner eve(dir_, "eve", forged->certificate, forged->private_key,
                   agent_->ca->certificate_path(), "localhost", agent_->port);
  const std::string before = agent_->process->Log();
  ProgramResult refused = eve.Run({"mem", "localhost"});
  EXPECT_EQ(refused.exit_code, 3) << refused.stderr_text;
  const std::string log = agent_->process->Log().substr(before.size());
  EXPECT_THAT(log, HasSubstr("holds control characters"));
  EXPECT_THAT(log, Not(HasSubstr("start memory")));
  // The forged line is not a line of the log.
  EXPECT_THAT(log, Not(HasSubstr("\n2026-12-01T00:00:00.000")));
}

}  // namespace
}  // namespace opsagent
