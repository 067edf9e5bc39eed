// The controller's signed audit checkpoints on real parts: the real opsctld
// signing its real SQLite log with a real Ed25519 key file and exporting to
// a real file, a real agent, real opsctl. An attacker with the database
// file but not the key swaps it for an older copy: opsctld refuses to
// start, and an offline verify of the copy names it.

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TestController;
using ::testing::HasSubstr;
using ::testing::Not;

bool Eventually(const std::function<bool()>& condition,
                absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return condition();
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The "cursor" of a JSON export line.
std::string CursorOf(const std::string& line) {
  const size_t at = line.find("\"cursor\":\"") + 10;
  return line.substr(at, line.find('"', at) - at);
}

class AuditCheckpointE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0700);
    // The key and the export apart from the database's directory.
    keys_ = dir_ + "/keys";
    mkdir(keys_.c_str(), 0700);
    export_dir_ = dir_ + "/export";
    mkdir(export_dir_.c_str(), 0700);
    ASSERT_TRUE(testing::WriteEd25519Key(keys_ + "/checkpoint.key",
                                         keys_ + "/checkpoint.pub")
                    .ok());
    auto ca = TestCertificateAuthority::Create(dir_, "fleet");
    ASSERT_TRUE(ca.ok());
    ca_ = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));
    TestController::Options options;
    options.dir = dir_;
    options.ca = ca_.get();
    options.extra_config = absl::StrCat(
        "audit_checkpoints { key_file: \"", keys_,
        "/checkpoint.key\" every_events: 4 every_seconds: 1 export_file: \"",
        export_file(), "\" }\n");
    auto controller = TestController::Start(options);
    ASSERT_TRUE(controller.ok()) << controller.status();
    controller_ = *std::move(controller);
    TestAgent::Options agent;
    agent.dir = dir_ + "/web-1";
    mkdir(agent.dir.c_str(), 0700);
    agent.host_name = "web-1";
    agent.ca = ca_;
    agent.extra_config =
        absl::StrCat(controller_->AgentConfig(), "journal_path: \"", agent.dir,
                     "/journal.jsonl\"\n");
    auto started = TestAgent::Start(agent);
    ASSERT_TRUE(started.ok()) << started.status();
    agent_ = *std::move(started);
    ASSERT_TRUE(Eventually([&] {
      return absl::StrContains(agent_->process->Log(),
                               "connected to the controller");
    }));
    auto alice = ca_->Issue("operator-alice", {"alice", {"oncall"}});
    ASSERT_TRUE(alice.ok());
    alice_ = std::make_unique<OpsctlRunner>(
        dir_, "alice", alice->certificate, alice->private_key,
        ca_->certificate_path(), "web-1", 1);
    alice_->AppendConfig(controller_->OpsctlConfig());
  }

  std::string export_file() const { return export_dir_ + "/checkpoints.jsonl"; }

  // `n` calls through the controller: two chain events each.
  void Calls(int n) {
    for (int i = 0; i < n; ++i) {
      ProgramResult r = alice_->Run({"info", "web-1"});
      ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
    }
  }

  size_t ExportedCheckpoints() {
    return Lines(ReadFileOrDie(export_file())).size();
  }

  std::string dir_, keys_, export_dir_;
  std::shared_ptr<TestCertificateAuthority> ca_;
  std::unique_ptr<TestController> controller_;
  std::unique_ptr<TestAgent> agent_;
  std::unique_ptr<OpsctlRunner> alice_;
};

TEST_F(AuditCheckpointE2eTest, SignsExportsAndVerifiesThroughTheController) {
  Calls(3);
  ASSERT_TRUE(Eventually([&] { return ExportedCheckpoints() >= 1; }))
      << controller_->Log();
  ProgramResult verify = alice_->Run({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text << verify.stderr_text;
  EXPECT_THAT(verify.stdout_text, HasSubstr("checkpoint(s) signed by key"));
  EXPECT_THAT(verify.stdout_text, HasSubstr("exported checkpoint(s) match"));

  // A SIEM follows the log: all lines, then only what is new after the
  // last cursor.
  ProgramResult first = alice_->Run({"audit", "export"});
  ASSERT_EQ(first.exit_code, 0) << first.stderr_text;
  std::vector<std::string> lines = Lines(first.stdout_text);
  ASSERT_GE(lines.size(), 7u);  // 6 events and a checkpoint at least
  EXPECT_THAT(lines[0], HasSubstr("\"event\":\"intent\""));
  EXPECT_THAT(lines[0], HasSubstr("\"operation\":\"info\""));
  EXPECT_THAT(first.stdout_text,
              HasSubstr("\"checkpoint\":{\"type\":"
                        "\"audit_checkpoint\",\"number\":1"));
  const std::string cursor = CursorOf(lines.back());
  Calls(1);
  ProgramResult next = alice_->Run({"audit", "export", "--after", cursor});
  ASSERT_EQ(next.exit_code, 0) << next.stderr_text;
  EXPECT_THAT(next.stdout_text, Not(HasSubstr(lines.back())));
  EXPECT_THAT(next.stdout_text, HasSubstr("\"event\":\"outcome\""));
  EXPECT_EQ(alice_->Run({"audit", "export", "--after", "nonsense"}).exit_code,
            2);

  // The export is what verify takes as the copy kept elsewhere.
  const std::string siem = dir_ + "/siem.jsonl";
  testing::WriteFileOrDie(siem, first.stdout_text);
  ProgramResult with_copy =
      alice_->Run({"audit", "verify", "--checkpoints", siem});
  EXPECT_EQ(with_copy.exit_code, 0) << with_copy.stdout_text;
}

TEST_F(AuditCheckpointE2eTest, AnOlderCopyOfTheDatabaseIsRefusedAndNamed) {
  Calls(2);
  ASSERT_TRUE(Eventually([&] { return ExportedCheckpoints() >= 1; }));
  // The attacker keeps a copy of the log as it is now...
  const std::string older = dir_ + "/older.db";
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(controller_->audit_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, ("VACUUM INTO '" + older + "'").c_str(), nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  // ...the team works on (a truncation it would rather hide)...
  const size_t before = ExportedCheckpoints();
  Calls(3);
  ASSERT_TRUE(Eventually([&] { return ExportedCheckpoints() > before; }));
  controller_->Kill();
  // ...and the older copy is put in its place.
  for (const char* suffix : {"-wal", "-shm"})
    std::filesystem::remove(controller_->audit_path() + suffix);
  std::filesystem::copy_file(older, controller_->audit_path(),
                             std::filesystem::copy_options::overwrite_existing);
  chmod(controller_->audit_path().c_str(), 0600);
  absl::Status restarted = controller_->Restart();
  ASSERT_FALSE(restarted.ok());
  EXPECT_THAT(restarted.message(), HasSubstr("refusing to start"));
  EXPECT_THAT(restarted.message(), HasSubstr("swapped for an older copy"));

  // Offline, on a copy, with the public key and the export file.
  ProgramResult offline =
      alice_->Run({"audit", "verify", "--database", older, "--checkpoint-key",
                   keys_ + "/checkpoint.pub", "--checkpoints", export_file()});
  EXPECT_EQ(offline.exit_code, 1) << offline.stdout_text << offline.stderr_text;
  EXPECT_THAT(offline.stdout_text, HasSubstr("TAMPERED"));
  EXPECT_THAT(offline.stdout_text, HasSubstr("swapped for an older copy"));
  // Without the key a log with checkpoints is not called intact.
  ProgramResult keyless = alice_->Run({"audit", "verify", "--database", older});
  EXPECT_EQ(keyless.exit_code, 2);
  EXPECT_THAT(keyless.stderr_text, HasSubstr("--checkpoint-key"));
}

TEST(AuditCheckpointConfigE2eTest, AKeyOthersCanReadIsRefusedAtStart) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/badkey");
  mkdir(dir.c_str(), 0700);
  mkdir((dir + "/keys").c_str(), 0700);
  ASSERT_TRUE(testing::WriteEd25519Key(dir + "/keys/k.pem").ok());
  chmod((dir + "/keys/k.pem").c_str(), 0640);
  auto ca = TestCertificateAuthority::Create(dir, "fleet");
  ASSERT_TRUE(ca.ok());
  TestController::Options options;
  options.dir = dir;
  options.ca = ca->get();
  options.extra_config = absl::StrCat("audit_checkpoints { key_file: \"", dir,
                                      "/keys/k.pem\" syslog: true }\n");
  auto controller = TestController::Start(options);
  ASSERT_FALSE(controller.ok());
  EXPECT_THAT(controller.status().message(), HasSubstr("readable by it alone"));
  // Nor may the key sit beside the database.
  options.extra_config = absl::StrCat("audit_checkpoints { key_file: \"", dir,
                                      "/k.pem\" syslog: true }\n");
  controller = TestController::Start(options);
  ASSERT_FALSE(controller.ok());
  EXPECT_THAT(controller.status().message(),
              HasSubstr("must not be in the audit database's directory"));
}

}  // namespace
}  // namespace opsagent
