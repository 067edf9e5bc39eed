// A full filesystem under every file the daemons append to, and under the
// team's audit log: the real opsctld, opsagent and opsctl, each file on a
// small tmpfs mounted in this test's own mount namespace (needs root) and
// filled with a real file.
// - The checkpoint export file and the agent's journal never keep a torn
//   line: a failed append names ENOSPC and is rolled back, freeing space
//   lets the next append go on, `audit verify` passes and the daemons start
//   again; a torn last line a kill left is cut off at start, a complete
//   line that is no checkpoint is still refused.
// - Exit codes tell what happened: intent not recorded, 5 (nothing sent);
//   recorded but not sent, 4; refused by the agent, 3; sent and its outcome
//   not recorded, 6; each with its row in the team's log.

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AbsolutePath;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TestController;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

void AppendToFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  close(fd);
}

// Every line whole: the file ends in a newline and each line is one JSON
// object.
void ExpectWholeJsonLines(const std::string& path) {
  const std::string text = ReadFileOrDie(path);
  ASSERT_FALSE(text.empty()) << path;
  EXPECT_EQ(text.back(), '\n') << path << " ends in a torn line:\n" << text;
  for (const std::string& line : Lines(text)) {
    EXPECT_TRUE(absl::StartsWith(line, "{") && absl::EndsWith(line, "}"))
        << path << " holds a torn line: " << line;
  }
}

class FullDiskControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    ASSERT_EQ(unshare(CLONE_NEWNS), 0);
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
    dir_ = testing::MakeTestDirectory();
    auto ca = TestCertificateAuthority::Create(dir_, "fleet");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));
  }

  void TearDown() override {
    agent_.reset();
    controller_.reset();
    for (const std::string& mounted : mounts_) umount(mounted.c_str());
  }

  // A tmpfs of `size` at DIR/name, only root may change it.
  std::string Mount(const std::string& name, const std::string& size) {
    const std::string path = dir_ + "/" + name;
    mkdir(path.c_str(), 0700);
    EXPECT_EQ(mount("tmpfs", path.c_str(), "tmpfs", 0,
                    absl::StrCat("size=", size, ",mode=0700").c_str()),
              0)
        << path;
    mounts_.push_back(path);
    return path;
  }

  // An ext4 filesystem of `megabytes` at DIR/name made with `mkfs.ext4 -m 0`
  // (no blocks kept for root, as on XFS) on a loop device; empty when this
  // machine cannot make one (the reason is recorded as the test's skip).
  std::string MountExt4(const std::string& name, int megabytes) {
    const std::string path = dir_ + "/" + name;
    const std::string image = path + ".img";
    mkdir(path.c_str(), 0700);
    const int fd = open(image.c_str(), O_WRONLY | O_CREAT, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(ftruncate(fd, static_cast<off_t>(megabytes) << 20), 0);
    close(fd);
    for (const std::vector<std::string>& argv :
         {std::vector<std::string>{"/usr/sbin/mkfs.ext4", "-q", "-F", "-m", "0",
                                   image},
          std::vector<std::string>{"/usr/bin/mount", "-o", "loop", image,
                                   path}}) {
      absl::StatusOr<ProgramResult> ran = RunProgram(argv, absl::Seconds(60));
      if (!ran.ok() || ran->exit_code != 0) {
        skip_reason_ = absl::StrCat(
            "cannot make an ext4 filesystem on a loop device here (the tmpfs "
            "case still runs): ",
            argv[0], " failed: ",
            ran.ok() ? ran->stderr_text : std::string(ran.status().message()));
        return "";
      }
    }
    mounts_.push_back(path);
    return path;
  }

  // Fills the filesystem holding `dir` to the last byte; returns the file
  // that holds the space.
  static std::string Fill(const std::string& dir,
                          const std::string& name = "filler") {
    const std::string filler = dir + "/" + name;
    const int fd = open(filler.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    EXPECT_GE(fd, 0);
    const std::string block(4096, 'x');
    while (write(fd, block.data(), block.size()) > 0) {
    }
    while (write(fd, "x", 1) > 0) {
    }
    close(fd);
    return filler;
  }

  // opsctld with `extra` in its configuration and its log at
  // `audit_database` (default: beside its configuration), and web-1 linked
  // to it with `agent_extra` in its configuration.
  void StartFleet(const std::string& extra, const std::string& audit_database,
                  const std::string& agent_extra) {
    TestController::Options options;
    options.dir = dir_;
    options.ca = ca_.get();
    options.extra_config = extra;
    options.audit_database = audit_database;
    auto controller = TestController::Start(options);
    ASSERT_TRUE(controller.ok()) << controller.status();
    controller_ = *std::move(controller);
    TestAgent::Options agent;
    agent.dir = dir_ + "/web-1";
    mkdir(agent.dir.c_str(), 0700);
    agent.host_name = "web-1";
    agent.ca = ca_;
    agent.extra_config = absl::StrCat(
        controller_->AgentConfig(), "journal_path: \"",
        journal_path_.empty() ? agent.dir + "/journal.jsonl" : journal_path_,
        "\"\n", agent_extra);
    auto started = TestAgent::Start(agent);
    ASSERT_TRUE(started.ok()) << started.status();
    agent_ = *std::move(started);
    ASSERT_TRUE(Eventually([&] {
      return absl::StrContains(agent_->process->Log(),
                               "connected to the controller");
    }));
    alice_ = Operator("alice", "oncall");
  }

  // opsctl through the controller as `name` with role `role`.
  std::unique_ptr<OpsctlRunner> Operator(const std::string& name,
                                         const std::string& role) {
    auto cert = ca_->Issue("operator-" + name, {name, {role}});
    EXPECT_TRUE(cert.ok());
    auto opsctl = std::make_unique<OpsctlRunner>(
        dir_, name, cert->certificate, cert->private_key,
        ca_->certificate_path(), "web-1", 1);
    opsctl->AppendConfig(controller_->OpsctlConfig());
    return opsctl;
  }

  // The team log's line for `request_id` (`opsctl audit --output json`).
  std::string AuditLine(const std::string& request_id) {
    ProgramResult audit =
        alice_->Run({"audit", "--since", "1h", "--output", "json"});
    EXPECT_EQ(audit.exit_code, 0) << audit.stderr_text;
    for (const std::string& line : Lines(audit.stdout_text)) {
      if (absl::StrContains(line, request_id)) return line;
    }
    return "";
  }

  static std::string RequestId(const std::string& json) {
    const size_t at = json.find("\"request_id\":\"");
    if (at == std::string::npos) return "";
    return json.substr(at + 14, json.find('"', at + 14) - at - 14);
  }

  std::string dir_;
  // Where web-1 keeps its journal; empty: beside its configuration.
  std::string journal_path_;
  std::vector<std::string> mounts_;
  std::shared_ptr<TestCertificateAuthority> ca_;
  std::unique_ptr<TestController> controller_;
  std::unique_ptr<TestAgent> agent_;
  std::unique_ptr<OpsctlRunner> alice_;
  std::string skip_reason_;
};

// Free bytes of the filesystem holding `path`, as df's Avail counts them
// (ext4 keeps some clusters of its own past a writer's ENOSPC).
uint64_t FreeBytes(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// How many of the journal's records name `request_id`.
int JournalRecords(const std::string& journal, const std::string& request_id) {
  int records = 0;
  for (const std::string& line : Lines(ReadFileOrDie(journal))) {
    if (absl::StrContains(line, request_id)) ++records;
  }
  return records;
}

// The night the tool exists for: the filesystem holding the agent's journal
// (the example configuration puts it on /, the filesystem the alerts are
// about) is 100% full, filled by the application's own log, which a real
// process holds open and goes on writing. Reads answer; the truncation that
// frees the space is recorded before it acts, from the space the journal
// keeps allocated past its end; a loop of reads cannot use up that space.
// On a tmpfs, and on ext4 made with -m 0 (no root reserve) on a loop device.
class FullJournalFilesystemTest
    : public FullDiskControllerTest,
      public ::testing::WithParamInterface<std::string> {};

TEST_P(FullJournalFilesystemTest, ReadsAnswerAndTheTruncationIsRecorded) {
  const std::string small =
      GetParam() == "tmpfs" ? Mount("root", "24m") : MountExt4("root", 24);
  if (small.empty()) GTEST_SKIP() << skip_reason_;
  journal_path_ = small + "/journal.jsonl";
  const std::string app_log = small + "/app.log";
  // The smallest reserve allowed: 32 KiB of it for reads, a few dozen. The
  // automation identity may run one read-only command with 20 KB of output.
  WriteFileOrDie(dir_ + "/out.txt", std::string(20000, 'o'));
  StartFleet("access { roles: \"automation\" permissions: \"run\" }\n", "",
             absl::StrCat("truncatable_logs: \"", small, "/*.log\"\n",
                          "inspection_roots: \"", small, "\"\n",
                          "limits { journal_reserve_bytes: 65536 }\n",
                          "authorization { roles: \"automation\" operations: "
                          "\"run_command\" }\n",
                          "command { name: \"out\" argv: [\"/bin/cat\", \"",
                          dir_, "/out.txt\"] read_only: true }\n"));
  ASSERT_EQ(alice_->Run({"mem", "web-1"}).exit_code, 0);

  Fill(small, "app.log");
  auto writer =
      Subprocess::Start({{AbsolutePath("tests/testing/log_writer"), app_log}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_EQ(FreeBytes(small), 0u) << GetParam() << " is not full";
  const size_t log_before = agent_->process->Log().size();

  ProgramResult df = alice_->Run({"df", "web-1", "--all"});
  EXPECT_EQ(df.exit_code, 0) << df.stdout_text << df.stderr_text;
  EXPECT_THAT(df.stdout_text, HasSubstr(small));
  EXPECT_THAT(df.stdout_text, HasSubstr("100%"));
  ProgramResult du = alice_->Run({"du", "web-1", small});
  EXPECT_EQ(du.exit_code, 0) << du.stderr_text;
  EXPECT_THAT(du.stdout_text, HasSubstr(app_log));
  ProgramResult mem = alice_->Run({"mem", "web-1"});
  EXPECT_EQ(mem.exit_code, 0) << mem.stderr_text;

  // A loop of reads at 0 bytes free: each answered; once half of the
  // reserve is used they are no longer journaled.
  for (int i = 0; i < 40; ++i) {
    ProgramResult read = alice_->Run({"df", "web-1"});
    ASSERT_EQ(read.exit_code, 0) << i << ": " << read.stderr_text;
  }
  EXPECT_THAT(agent_->process->Log().substr(log_before),
              HasSubstr("answered but not journaled: not appended to agent "
                        "journal"));
  EXPECT_THAT(agent_->process->Log().substr(log_before),
              HasSubstr("bytes of its reserve are kept for changes"));
  // Nor can the automation identity's read-only command, which alert
  // senders decide how often to run, use the changes' half.
  std::unique_ptr<OpsctlRunner> automation =
      Operator("automation", "automation");
  for (int i = 0; i < 8; ++i)
    automation->Run({"exec", "web-1", "out", "--yes"});

  // systemd stops and starts the agent while the disk is still full: what
  // it counted but could not journal is written at the stop, from the
  // reserve, not lost with its memory.
  ASSERT_TRUE(agent_->Restart(SIGTERM).ok());
  EXPECT_THAT(ReadFileOrDie(journal_path_),
              HasSubstr("or while the journal's filesystem was full"));
  // One record for both callers counted (alice's reads, the automation's
  // refused runs), however many there are: it may use the changes' half.
  EXPECT_EQ(JournalRecords(journal_path_, "NOT_JOURNALED"), 1)
      << ReadFileOrDie(journal_path_);
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(agent_->process->Log(),
                             "connected to the controller");
  }));

  // The change that frees the space: recorded before it acts.
  ProgramResult truncated =
      alice_->Run({"truncate", "web-1", app_log, "--yes", "--output", "json"});
  ASSERT_EQ(truncated.exit_code, 0)
      << truncated.stdout_text << truncated.stderr_text;
  EXPECT_GT(FreeBytes(small), 16u << 20);
  const std::string request_id = RequestId(truncated.stdout_text);
  ASSERT_FALSE(request_id.empty()) << truncated.stdout_text;
  EXPECT_EQ(JournalRecords(journal_path_, request_id), 2)
      << "the truncation's STARTED and FINISHED records";
  ExpectWholeJsonLines(journal_path_);
  EXPECT_THAT(AuditLine(request_id), HasSubstr("\"outcome\":\"ok\""));

  // Space again: reads are journaled again, and the agent's journal agrees
  // with the team's log (the reads it could not record are counted in it).
  ProgramResult read = alice_->Run({"df", "web-1", "--output", "json"});
  ASSERT_EQ(read.exit_code, 0) << read.stderr_text;
  EXPECT_EQ(JournalRecords(journal_path_, RequestId(read.stdout_text)), 2)
      << read.stdout_text;
  EXPECT_THAT(ReadFileOrDie(journal_path_),
              HasSubstr("or while the journal's filesystem was full"));
  ProgramResult reconciled = alice_->Run({"audit", "reconcile"});
  EXPECT_EQ(reconciled.exit_code, 0)
      << reconciled.stdout_text << reconciled.stderr_text;
}

INSTANTIATE_TEST_SUITE_P(Filesystems, FullJournalFilesystemTest,
                         ::testing::Values("tmpfs", "ext4"),
                         [](const auto& info) { return info.param; });

TEST_F(FullDiskControllerTest, TheCheckpointExportFileSurvivesAFullDisk) {
  const std::string keys = dir_ + "/keys";
  mkdir(keys.c_str(), 0700);
  ASSERT_TRUE(
      testing::WriteEd25519Key(keys + "/checkpoint.key", keys + "/pub").ok());
  const std::string small = Mount("export", "64k");
  const std::string exported = small + "/checkpoints.jsonl";
  StartFleet(absl::StrCat("audit_checkpoints { key_file: \"", keys,
                          "/checkpoint.key\" every_events: 1 every_seconds: 1 "
                          "export_file: \"",
                          exported, "\" }\n"),
             "", "");
  ASSERT_EQ(alice_->Run({"info", "web-1"}).exit_code, 0);
  ASSERT_TRUE(
      Eventually([&] { return !Lines(ReadFileOrDie(exported)).empty(); }));

  // Full: a checkpoint is exported before the database commits it, so once
  // one no longer fits in the file's last page none is signed, and the
  // database never holds one the file lacks (which could be cut from the
  // database with its rows, unseen, and the history signed again shorter).
  const std::string filler = Fill(small);
  ASSERT_TRUE(Eventually(
      [&] {
        alice_->Run({"info", "web-1"});
        return absl::StrContains(controller_->Log(),
                                 "cannot append to audit_checkpoints");
      },
      absl::Seconds(120)))
      << controller_->Log();
  const std::string log = controller_->Log();
  EXPECT_THAT(log, HasSubstr(absl::StrCat(
                       "cannot append to audit_checkpoints.export_file ",
                       exported, ": write: No space left on device (ENOSPC)")));
  EXPECT_THAT(log, HasSubstr("is not signed: the export file cannot take it"));
  EXPECT_THAT(log, Not(HasSubstr("timed out")));
  ExpectWholeJsonLines(exported);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(alice_->Run({"info", "web-1"}).exit_code, 0);
  absl::SleepFor(absl::Seconds(2));  // past every_seconds: 1
  ProgramResult in_database = alice_->Run({"audit", "export"});
  ASSERT_EQ(in_database.exit_code, 0) << in_database.stderr_text;
  size_t signed_in_database = 0;
  for (const std::string& line : Lines(in_database.stdout_text))
    signed_in_database += absl::StrContains(line, "\"checkpoint\":");
  EXPECT_EQ(signed_in_database, Lines(ReadFileOrDie(exported)).size());

  // Room again: what the file lacks is appended, in order, and the log and
  // the file agree.
  unlink(filler.c_str());
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(
        controller_->Log(),
        "audit checkpoint: the error above no longer occurs");
  })) << controller_->Log();
  ASSERT_EQ(alice_->Run({"info", "web-1"}).exit_code, 0);
  ProgramResult verify = alice_->Run({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text << verify.stderr_text;
  EXPECT_THAT(verify.stdout_text, HasSubstr("exported checkpoint(s) match"));
  ExpectWholeJsonLines(exported);
  ASSERT_TRUE(controller_->Restart().ok());

  // A kill mid-append leaves a torn last line: cut off at start, and the
  // controller goes on.
  controller_->Kill();
  const std::string torn = "{\"type\":\"audit_checkpoint\",\"number\":";
  AppendToFile(exported, torn);
  absl::Status restarted = controller_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_THAT(controller_->Log(),
              HasSubstr(absl::StrCat("cut off its torn last line (",
                                     torn.size(), " bytes")));
  ExpectWholeJsonLines(exported);
  verify = alice_->Run({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text << verify.stderr_text;

  // A whole line that is no checkpoint is still refused.
  controller_->Kill();
  AppendToFile(exported, "{\"type\":\"something else\"}\n");
  restarted = controller_->Restart();
  ASSERT_FALSE(restarted.ok());
  EXPECT_THAT(restarted.message(),
              HasSubstr("is neither an audit checkpoint nor"));
}

TEST_F(FullDiskControllerTest, TheAgentJournalSurvivesAFullDisk) {
  const std::string small = Mount("journal", "64k");
  const std::string journal = small + "/journal.jsonl";
  const std::string direct = dir_ + "/direct";
  mkdir(direct.c_str(), 0700);
  const std::string app_log = direct + "/app.log";
  auto agent = TestAgent::Start(
      direct, "localhost",
      absl::StrCat("journal_path: \"", journal, "\"\n", "truncatable_logs: \"",
                   direct, "/*.log\"\n"));
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::unique_ptr<OpsctlRunner> opsctl = (*agent)->Oncall("alice");
  const auto truncate = [&] {
    WriteFileOrDie(app_log, std::string(10000, 'x'));
    return opsctl->Run({"truncate", "localhost", app_log, "--yes"});
  };
  ASSERT_EQ(truncate().exit_code, 0);

  // Full: changes go on until a record no longer fits in the journal's last
  // page; that change is refused, or its end is not journaled.
  const std::string filler = Fill(small);
  std::string refused;
  for (int i = 0; i < 100 && refused.empty(); ++i) {
    ProgramResult r = truncate();
    if (r.exit_code != 0) refused = r.stderr_text;
    if (absl::StrContains((*agent)->process->Log(), "is not in the journal"))
      refused = (*agent)->process->Log();
  }
  EXPECT_THAT(refused,
              HasSubstr(absl::StrCat("cannot append to agent journal ", journal,
                                     ": write: No space left on device "
                                     "(ENOSPC)")));
  ExpectWholeJsonLines(journal);

  // Room again: the next records start on lines of their own, and the
  // journal reads back whole at the next start.
  unlink(filler.c_str());
  ASSERT_EQ(truncate().exit_code, 0);
  ExpectWholeJsonLines(journal);
  ASSERT_TRUE((*agent)->Restart().ok());
  EXPECT_THAT((*agent)->process->Log(), Not(HasSubstr("unreadable record")));

  // A record torn by a kill is cut off at start.
  const std::string torn = "{\"event\":\"STARTED\",\"requestId\":\"";
  AppendToFile(journal, torn);
  ASSERT_TRUE((*agent)->Restart().ok());
  EXPECT_THAT((*agent)->process->Log(),
              HasSubstr(absl::StrCat("cut off its torn last line (",
                                     torn.size(), " bytes")));
  ExpectWholeJsonLines(journal);
  EXPECT_EQ(truncate().exit_code, 0);
}

// A viewer's loop of reads filled the team log's filesystem, after which no
// change could be recorded, whatever the write budgets (our attack run: 6
// loops, an 8 MiB tmpfs, 115 s). Reads are refused while the filesystem is
// down to the reserve kept for changes; the truncation that frees the disk
// is still recorded and runs.
TEST_F(FullDiskControllerTest, ReadsStopAtTheReserveKeptForChanges) {
  const std::string small = Mount("reserve-log", "2m");
  const std::string app_log = dir_ + "/app.log";
  WriteFileOrDie(app_log, std::string(10000, 'x'));
  StartFleet("audit_write_budget { change_reserve_bytes: 524288 }\n",
             small + "/team-audit.db",
             absl::StrCat("truncatable_logs: \"", dir_, "/*.log\"\n"));
  ASSERT_EQ(alice_->Run({"info", "web-1"}).exit_code, 0);
  // Leave 256 KiB: under the 512 KiB reserve.
  const std::string filler = Fill(small);
  const off_t filled = static_cast<off_t>(std::filesystem::file_size(filler));
  ASSERT_GT(filled, 256 << 10);
  ASSERT_EQ(truncate(filler.c_str(), filled - (256 << 10)), 0);
  const auto rows = [&] {
    ProgramResult audit = alice_->Run({"audit", "--output", "json"});
    EXPECT_EQ(audit.exit_code, 0) << audit.stderr_text;
    return Lines(audit.stdout_text).size();
  };
  const size_t before = rows();
  ProgramResult read = alice_->Run({"info", "web-1"});
  EXPECT_EQ(read.exit_code, 5) << read.stderr_text;
  EXPECT_THAT(read.stderr_text, HasSubstr("change_reserve_bytes"));
  EXPECT_THAT(read.stderr_text, HasSubstr("nothing was sent"));
  EXPECT_EQ(rows(), before);
  // The change is recorded, and runs.
  ProgramResult change =
      alice_->Run({"truncate", "web-1", app_log, "--yes", "--output", "json"});
  EXPECT_EQ(change.exit_code, 0) << change.stderr_text;
  EXPECT_EQ(ReadFileOrDie(app_log).size(), 0u);
  EXPECT_GT(rows(), before);
  unlink(filler.c_str());
  EXPECT_EQ(alice_->Run({"info", "web-1"}).exit_code, 0);
}

TEST_F(FullDiskControllerTest, EachExitCodeSaysWhatHappenedToTheChange) {
  const std::string small = Mount("team-log", "1m");
  const std::string inventory = dir_ + "/expected.inventory";
  WriteFileOrDie(inventory,
                 "host { name: \"web-9\" address: \"10.0.0.9:9443\" }\n");
  chmod(inventory.c_str(), 0600);
  const std::string gate = dir_ + "/gate";
  ASSERT_EQ(mkfifo(gate.c_str(), 0600), 0);
  const std::string app_log = dir_ + "/app.log";
  WriteFileOrDie(app_log, std::string(10000, 'x'));
  StartFleet(
      absl::StrCat("inventory: \"", inventory, "\"\n",
                   "access { roles: \"viewer\" permissions: \"run\" }\n"),
      small + "/team-audit.db",
      absl::StrCat("truncatable_logs: \"", dir_, "/*.log\"\n",
                   "command { name: \"wait\" argv: [\"/bin/cat\", \"", gate,
                   "\"] timeout_seconds: 120 }\n"));
  const auto truncate = [&](OpsctlRunner& who, const std::string& host) {
    return who.Run({"truncate", host, app_log, "--yes", "--output", "json"});
  };

  // The break-glass path audits into the operator's own file, here on the
  // same filesystem.
  auto cert = ca_->Issue("operator-alice-direct", {"alice", {"oncall"}});
  ASSERT_TRUE(cert.ok());
  OpsctlRunner direct(dir_, "alice-direct", cert->certificate,
                      cert->private_key, ca_->certificate_path(), "web-1",
                      agent_->port, small + "/operator-audit.db");
  ASSERT_EQ(direct.Run({"--direct", "info", "web-1"}).exit_code, 0);

  // (a) The intent cannot be recorded: nothing is sent, exit 5, through the
  // controller and directly.
  std::string filler = Fill(small);
  ProgramResult direct_unrecorded =
      direct.Run({"--direct", "truncate", "web-1", app_log, "--yes"});
  EXPECT_EQ(direct_unrecorded.exit_code, 5) << direct_unrecorded.stderr_text;
  EXPECT_THAT(direct_unrecorded.stderr_text, HasSubstr("nothing was sent"));
  ProgramResult unrecorded = truncate(*alice_, "web-1");
  EXPECT_EQ(unrecorded.exit_code, 5)
      << unrecorded.stdout_text << unrecorded.stderr_text;
  EXPECT_THAT(unrecorded.stderr_text, HasSubstr("nothing was sent"));
  EXPECT_THAT(unrecorded.stderr_text, Not(HasSubstr("may have acted")));
  EXPECT_EQ(ReadFileOrDie(app_log).size(), 10000u);
  unlink(filler.c_str());
  ProgramResult listed =
      alice_->Run({"audit", "--operation", "truncate_log", "--output", "json"});
  EXPECT_EQ(listed.exit_code, 0) << listed.stderr_text;
  EXPECT_THAT(listed.stdout_text, Not(HasSubstr("web-1")));  // no row

  // (b) Recorded, then not sent (the host is not connected): exit 4, and
  // the row says unreachable.
  ProgramResult absent = truncate(*alice_, "web-9");
  EXPECT_EQ(absent.exit_code, 4) << absent.stdout_text << absent.stderr_text;
  EXPECT_THAT(AuditLine(RequestId(absent.stdout_text)),
              HasSubstr("\"outcome\":\"unreachable\""));
  // Recorded, sent, refused by the agent before acting: exit 3, denied.
  std::unique_ptr<OpsctlRunner> bob = Operator("bob", "viewer");
  ProgramResult denied = truncate(*bob, "web-1");
  EXPECT_EQ(denied.exit_code, 3) << denied.stdout_text << denied.stderr_text;
  EXPECT_THAT(AuditLine(RequestId(denied.stdout_text)),
              HasSubstr("\"outcome\":\"denied\""));
  EXPECT_EQ(ReadFileOrDie(app_log).size(), 10000u);

  // (c) Sent, and the disk fills before its outcome is recorded: exit 6,
  // and the row stays an intent.
  absl::StatusOr<Subprocess> running =
      alice_->Start({"exec", "web-1", "wait", "--yes", "--output", "json"},
                    dir_ + "/exec.out", dir_ + "/exec.err");
  ASSERT_TRUE(running.ok()) << running.status();
  ASSERT_TRUE(Eventually([&] {
    ProgramResult pending = alice_->Run(
        {"audit", "--operation", "run_command", "--output", "json"});
    return absl::StrContains(pending.stdout_text, "\"outcome\":\"pending\"");
  }));
  filler = Fill(small);
  {
    // The command ends: cat reads the gate's end of file.
    const int fd = open(gate.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    close(fd);
  }
  absl::StatusOr<int> code = running->Wait(absl::Seconds(120));
  ASSERT_TRUE(code.ok()) << code.status();
  const std::string out = ReadFileOrDie(dir_ + "/exec.out");
  const std::string err = ReadFileOrDie(dir_ + "/exec.err");
  EXPECT_EQ(*code, 6) << out << err;
  EXPECT_THAT(out + err, HasSubstr("could not record this outcome"));
  EXPECT_THAT(out, HasSubstr("\"outcome\":\"unknown\""));
  unlink(filler.c_str());
  EXPECT_THAT(AuditLine(RequestId(out)), HasSubstr("\"outcome\":\"pending\""));
}

}  // namespace
}  // namespace opsagent
