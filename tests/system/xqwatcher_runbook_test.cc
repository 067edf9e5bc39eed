// The runbook's "DiskUsageWarning xqwatcher" incident against real parts: a
// real supervisord runs the xqwatcher stand-in (a process appending to its
// log), the real opsagent and opsctl talk over mutual TLS, and the audit
// log is a real SQLite file.

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/system/supervisor_program_controller.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_pki.h"

extern char** environ;

namespace opsagent {
namespace {

namespace fs = std::filesystem;
using ::opsagent::testing::AbsolutePath;
using ::opsagent::testing::AgentProcess;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

class XqwatcherRunbookTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(AbsolutePath(std::getenv("TEST_TMPDIR")));
    log_dir_ = new std::string(*dir_ + "/edx/var/log/xqwatcher");
    fs::create_directories(*log_dir_);
    log_ = new std::string(*log_dir_ + "/xqwatcher.log");
    // An 8 MiB log from "before", which the writer keeps appending to.
    std::ofstream(*log_) << std::string(8 << 20, '#');

    const std::string conf = *dir_ + "/supervisord.conf";
    // A unix socket path must fit in 108 bytes; Bazel's TEST_TMPDIR may not.
    char socket_dir[] = "/tmp/opsagent-sv-XXXXXX";
    socket_ =
        new std::string(absl::StrCat(mkdtemp(socket_dir), "/supervisor.sock"));
    WriteFileOrDie(
        conf,
        absl::StrCat(
            "[unix_http_server]\nfile=", *socket_, "\n",
            "[supervisord]\nlogfile=", *dir_, "/supervisord.log\npidfile=",
            *dir_, "/supervisord.pid\nnodaemon=true\n",
            "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
            "supervisor.rpcinterface:make_main_rpcinterface\n",
            "[supervisorctl]\nserverurl=unix://", *socket_, "\n",
            "[program:xqwatcher]\ncommand=",
            AbsolutePath("tests/testing/log_writer"), " ", *log_,
            "\nstartsecs=1\n", "[program:flaky]\ncommand=",
            AbsolutePath("tests/testing/flaky_service"), " ", *dir_,
            "/FAILONCE\nstartsecs=1\nstartretries=0\nautorestart=false\n",
            "[program:slow]\ncommand=",
            AbsolutePath("tests/testing/flaky_service"), "\nstartsecs=0\n"));
    auto supervisord =
        Subprocess::Start({{"/usr/bin/supervisord", "-n", "-c", conf}});
    ASSERT_TRUE(supervisord.ok()) << supervisord.status();
    supervisord_ = new Subprocess(*std::move(supervisord));
    SupervisorProgramController xqwatcher("/usr/bin/supervisorctl", conf,
                                          "xqwatcher");
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    for (;;) {
      absl::StatusOr<ServiceStatus> status = xqwatcher.Status();
      if (status.ok() && status->active_state == "RUNNING") break;
      ASSERT_LT(absl::Now(), deadline)
          << ReadFileOrDie(*dir_ + "/supervisord.log");
      absl::SleepFor(absl::Milliseconds(100));
    }

    ::opsagent::testing::TestAgent::Options options;
    options.dir = *dir_;
    options.host_name = "ip-10-7-0-78";
    options.extra_config = absl::StrCat(
        "roles: \"xqwatcher\"\n", "journal_path: \"", *dir_,
        "/journal.jsonl\"\n", "inspection_roots: \"", *dir_, "/edx/var\"\n",
        "truncatable_logs: \"", *log_dir_, "/*.log\"\n",
        "authorization { roles: \"viewer\" operations: [\"info\", "
        "\"memory\", \"filesystems\", \"disk_usage\"] }\n",
        "supervisor { config: \"", conf, "\" }\n",
        "restartable { name: \"xqwatcher\" manager: "
        "SUPERVISOR_PROGRAM settle_seconds: 1 }\n",
        "restartable { name: \"flaky\" manager: SUPERVISOR_PROGRAM "
        "settle_seconds: 1 }\n",
        "restartable { name: \"slow\" manager: SUPERVISOR_PROGRAM "
        "settle_seconds: 30 }\n");
    auto agent = ::opsagent::testing::TestAgent::Start(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    test_agent_ = agent->release();
    agent_ = test_agent_->process.get();
    const int port = test_agent_->port;
    const std::string ca = test_agent_->ca->certificate_path();
    const auto& oncall = test_agent_->oncall;
    auto viewer = test_agent_->ca->Issue("viewer", {"victor", {"viewer"}});
    ASSERT_TRUE(viewer.ok()) << viewer.status();
    oncall_ = new OpsctlRunner(*dir_, "alice", oncall.certificate,
                               oncall.private_key, ca, "ip-10-7-0-78", port);
    viewer_ = new OpsctlRunner(*dir_, "victor", viewer->certificate,
                               viewer->private_key, ca, "ip-10-7-0-78", port);
    // The team's inventory names the host's role: a runbook entry is
    // matched on it, never on words of the alert's name.
    oncall_->WriteInventory(absl::StrCat(
        "host { name: \"ip-10-7-0-78\" address: \"127.0.0.1:", port,
        "\" roles: \"xqwatcher\" environment: \"test\" }\n"));
  }

  static void TearDownTestSuite() {
    delete test_agent_;
    test_agent_ = nullptr;
    agent_ = nullptr;
    if (supervisord_ != nullptr) {
      supervisord_->Signal(SIGTERM);  // supervisord stops its programs
      if (!supervisord_->Wait(absl::Seconds(20)).ok())
        supervisord_->Signal(SIGKILL);
    }
    delete supervisord_;
    supervisord_ = nullptr;
    if (socket_ != nullptr) fs::remove_all(fs::path(*socket_).parent_path());
  }

  static uint64_t Size(const std::string& path) { return fs::file_size(path); }
  static ino_t Inode(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
  }
  // The xqwatcher program's pid, as supervisord reports it.
  static int ProgramPid(const std::string& program) {
    SupervisorProgramController controller(
        "/usr/bin/supervisorctl", *dir_ + "/supervisord.conf", program);
    absl::StatusOr<ServiceStatus> status = controller.Status();
    return status.ok() ? status->main_pid : -1;
  }
  // The agent journal's lines: every change it was asked to make.
  static std::string Journal() {
    return ReadFileOrDie(*dir_ + "/journal.jsonl");
  }

  static std::string* dir_;
  static std::string* log_dir_;
  static std::string* log_;
  static std::string* socket_;
  static Subprocess* supervisord_;
  static ::opsagent::testing::TestAgent* test_agent_;
  static AgentProcess* agent_;
  static OpsctlRunner* oncall_;
  static OpsctlRunner* viewer_;
};

std::string* XqwatcherRunbookTest::dir_;
std::string* XqwatcherRunbookTest::log_dir_;
std::string* XqwatcherRunbookTest::log_;
std::string* XqwatcherRunbookTest::socket_;
Subprocess* XqwatcherRunbookTest::supervisord_;
::opsagent::testing::TestAgent* XqwatcherRunbookTest::test_agent_;
AgentProcess* XqwatcherRunbookTest::agent_;
OpsctlRunner* XqwatcherRunbookTest::oncall_;
OpsctlRunner* XqwatcherRunbookTest::viewer_;

TEST_F(XqwatcherRunbookTest, DiagnoseTruncateAndVerifyWhileTheWriterRuns) {
  // Diagnosis: the largest file under /edx/var is the xqwatcher log.
  ProgramResult du = oncall_->Run(
      {"du", "ip-10-7-0-78", *dir_ + "/edx/var", "--incident", "INC-9"});
  ASSERT_EQ(du.exit_code, 0) << du.stderr_text;
  const size_t files = du.stdout_text.find("largest files:\n");
  ASSERT_NE(files, std::string::npos) << du.stdout_text;
  const std::string first = du.stdout_text.substr(
      files + 15, du.stdout_text.find('\n', files + 15) - files - 15);
  EXPECT_THAT(first, ::testing::StartsWith("8."))
      << first;  // 8 MiB and growing
  EXPECT_THAT(first, ::testing::EndsWith("\t" + *log_)) << first;

  // A dry run says what would happen and changes nothing.
  const uint64_t before = Size(*log_);
  ProgramResult dry =
      oncall_->Run({"truncate", "ip-10-7-0-78", *log_, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.stderr_text;
  EXPECT_THAT(dry.stdout_text, HasSubstr("DRY RUN: would truncate " + *log_));
  EXPECT_THAT(dry.stdout_text, HasSubstr("held open by log_writer"));
  EXPECT_GE(Size(*log_), before);

  // Mitigation: truncate in place, keeping the last 4 KiB.
  ProgramResult cut =
      oncall_->Run({"truncate", "ip-10-7-0-78", *log_, "--keep-tail", "4K",
                    "--yes", "--incident", "INC-9", "--reason",
                    "DiskUsageWarning xqwatcher", "--output", "json"});
  ASSERT_EQ(cut.exit_code, 0) << cut.stderr_text;
  const google::protobuf::Value json = ParseJson(cut.stdout_text);
  const auto& result = JsonField(json, "result");
  // At least the 4 KiB asked for; where the filesystem cuts the head out in
  // place (ext4, XFS) up to one block more.
  const uint64_t kept =
      std::stoull(JsonField(result, "size_after_bytes").string_value());
  EXPECT_GE(kept, 4096u);
  EXPECT_LT(kept, 4096u + 4096u);
  EXPECT_GE(std::stoull(JsonField(result, "file_freed_bytes").string_value()),
            8u << 20);

  // The writer carries on into the same file, now small.
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_GT(Size(*log_), 4096u);
  EXPECT_LT(Size(*log_), 1u << 20);
  ProgramResult status =
      RunProgram({"/usr/bin/supervisorctl", "-c", *dir_ + "/supervisord.conf",
                  "status", "xqwatcher"},
                 absl::Seconds(20))
          .value();
  EXPECT_THAT(status.stdout_text, HasSubstr("RUNNING"));

  std::vector<v1::AuditEntry> rows = oncall_->AuditRows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].intent().operation(), "truncate_log");
  EXPECT_TRUE(rows[2].intent().mutating());
  EXPECT_EQ(rows[2].intent().incident(), "INC-9");
  EXPECT_EQ(rows[2].outcome(), v1::OUTCOME_OK);
  EXPECT_TRUE(rows[1].intent().dry_run());
}

TEST_F(XqwatcherRunbookTest, DeletedLogHeldOpenIsShownAndARestartFreesIt) {
  // What the runbook did: rm the log. The space stays held by the writer.
  const std::string old_log = *log_dir_ + "/old.log";
  fs::rename(*log_, old_log);
  std::ofstream(*log_);  // a fresh file for the restarted writer
  fs::remove(old_log);
  ProgramResult held = oncall_->Run({"open-deleted", "ip-10-7-0-78"});
  ASSERT_EQ(held.exit_code, 0) << held.stderr_text;
  EXPECT_THAT(held.stdout_text, HasSubstr(old_log));
  EXPECT_THAT(held.stdout_text, HasSubstr("log_writer"));

  ProgramResult restart =
      oncall_->Run({"restart", "ip-10-7-0-78", "xqwatcher", "--yes"});
  ASSERT_EQ(restart.exit_code, 0) << restart.stdout_text << restart.stderr_text;
  EXPECT_THAT(restart.stdout_text, HasSubstr("attempt 1: ok, RUNNING/RUNNING"));
  ProgramResult after = oncall_->Run({"open-deleted", "ip-10-7-0-78"});
  EXPECT_THAT(after.stdout_text, Not(HasSubstr(old_log)));
}

TEST_F(XqwatcherRunbookTest, RetriesAProgramThatFailsItsFirstStart) {
  WriteFileOrDie(*dir_ + "/FAILONCE", "");
  ProgramResult r = oncall_->Run(
      {"restart", "ip-10-7-0-78", "flaky", "--yes", "--retries", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("attempt 1: FAILED"));
  EXPECT_THAT(r.stdout_text, HasSubstr("attempt 2: ok"));

  // Then what on-call checks next: its state through supervisord, and the
  // line its failed start left in its stderr log.
  ProgramResult status =
      oncall_->Run({"status", "ip-10-7-0-78", "flaky", "--output", "json"});
  ASSERT_EQ(status.exit_code, 0) << status.stdout_text << status.stderr_text;
  const google::protobuf::Value json = ParseJson(status.stdout_text);
  const auto& result = JsonField(json, "result");
  EXPECT_EQ(JsonField(result, "manager").string_value(), "SUPERVISOR");
  EXPECT_TRUE(JsonField(result, "up").bool_value());
  const auto& state = JsonField(result, "state");
  EXPECT_EQ(JsonField(state, "active_state").string_value(), "RUNNING");
  absl::StatusOr<ServiceStatus> real =
      SupervisorProgramController("/usr/bin/supervisorctl",
                                  *dir_ + "/supervisord.conf", "flaky")
          .Status();
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(JsonField(state, "main_pid").number_value(), real->main_pid);
  // supervisord says "uptime 0:00:02"; since is now minus that.
  int64_t since_ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      JsonField(result, "since_unix_ms").string_value(), &since_ms));
  EXPECT_LE(absl::Now() - absl::FromUnixMillis(since_ms), absl::Seconds(60));
  // supervisord knows no cgroup or restart count: absent, not zero.
  EXPECT_EQ(JsonField(result, "memory_bytes").kind_case(),
            google::protobuf::Value::KIND_NOT_SET);
  EXPECT_EQ(JsonField(result, "restarts").kind_case(),
            google::protobuf::Value::KIND_NOT_SET);
  bool said_why = false;
  for (const auto& line :
       JsonField(result, "recent_log").list_value().values()) {
    if (absl::StrContains(JsonField(line, "text").string_value(),
                          "was present; failing this start")) {
      said_why = true;
      EXPECT_EQ(JsonField(line, "source").string_value(), "stderr");
    }
  }
  EXPECT_TRUE(said_why) << status.stdout_text;
  ProgramResult table = oncall_->Run({"status", "ip-10-7-0-78", "flaky"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.stdout_text, HasSubstr("● flaky (supervisord)"));
  EXPECT_THAT(table.stdout_text,
              HasSubstr(absl::StrCat("Main PID: ", real->main_pid)));
  EXPECT_THAT(table.stdout_text, HasSubstr("stderr: flaky_service: "));
}

TEST_F(XqwatcherRunbookTest, ReadOnlyCertificateCannotChangeAnything) {
  const uint64_t size = Size(*log_);
  const ino_t inode = Inode(*log_);
  const int pid = ProgramPid("xqwatcher");
  ASSERT_GT(pid, 0);
  const std::string journal = Journal();
  const std::string log_before = agent_->Log();

  ProgramResult r = viewer_->Run({"truncate", "ip-10-7-0-78", *log_, "--yes"});
  EXPECT_EQ(r.exit_code, 3) << r.stderr_text;
  EXPECT_THAT(r.stderr_text,
              HasSubstr("victor (viewer) is not allowed to call truncate_log"));
  EXPECT_EQ(viewer_->AuditRows().back().outcome(), v1::OUTCOME_DENIED);
  ProgramResult restart =
      viewer_->Run({"restart", "ip-10-7-0-78", "xqwatcher", "--yes"});
  EXPECT_EQ(restart.exit_code, 3) << restart.stderr_text;
  EXPECT_EQ(viewer_->AuditRows().back().outcome(), v1::OUTCOME_DENIED);

  // Nothing changed: the log is the same file and only grew (its writer
  // appends), the program is the same process, the agent journaled nothing
  // and started nothing.
  EXPECT_EQ(Inode(*log_), inode);
  EXPECT_GE(Size(*log_), size);
  EXPECT_EQ(ProgramPid("xqwatcher"), pid);
  EXPECT_EQ(Journal(), journal);
  const std::string log = agent_->Log().substr(log_before.size());
  EXPECT_THAT(log, HasSubstr("denied truncate_log by victor (viewer)"));
  EXPECT_THAT(log, HasSubstr("denied restart_service by victor (viewer)"));
  EXPECT_THAT(log, Not(HasSubstr("start ")));
}

TEST_F(XqwatcherRunbookTest, ChangesNeedYesWhenNotOnATerminal) {
  const size_t rows = oncall_->AuditRows().size();
  ProgramResult r = oncall_->Run({"truncate", "ip-10-7-0-78", *log_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("pass --yes"));
  EXPECT_EQ(oncall_->AuditRows().size(),
            rows);  // nothing sent, nothing recorded
}

TEST_F(XqwatcherRunbookTest, PathsOutsideTheAllowListAreRefused) {
  const std::string other = *dir_ + "/edx/var/other.log";
  std::ofstream(other) << "keep me";
  fs::create_symlink(other, *log_dir_ + "/link.log");
  // The test runs as root, outside any sandbox: /etc/passwd is the real one.
  const std::string passwd = ReadFileOrDie("/etc/passwd");
  const ino_t passwd_inode = Inode("/etc/passwd");
  const ino_t other_inode = Inode(other);
  struct Attempt {
    std::string path;
    int exit_code;
    std::string why;
  };
  for (const Attempt& attempt : std::vector<Attempt>{
           {other, 3, "is not an allow-listed log"},
           {*log_dir_ + "/link.log", 3, "symbolic link"},
           // Malformed for the agent: an error, not a denial.
           {*log_dir_ + "/../other.log", 1, "contains \"..\""},
           {"/etc/passwd", 3, "is not an allow-listed log"},
       }) {
    SCOPED_TRACE(attempt.path);
    const std::string journal = Journal();
    ProgramResult r =
        oncall_->Run({"truncate", "ip-10-7-0-78", attempt.path, "--yes"});
    EXPECT_EQ(r.exit_code, attempt.exit_code) << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr(attempt.why));
    EXPECT_EQ(ReadFileOrDie(other), "keep me");
    EXPECT_EQ(Inode(other), other_inode);
    EXPECT_EQ(ReadFileOrDie("/etc/passwd"), passwd);
    EXPECT_EQ(Inode("/etc/passwd"), passwd_inode);
    // The journal shows the attempt refused (a status code; zero fields are
    // left out of its JSON), never done.
    const std::string added = Journal().substr(journal.size());
    EXPECT_THAT(added, HasSubstr("\"event\":\"FINISHED\""));
    EXPECT_THAT(added.substr(added.find("\"event\":\"FINISHED\"")),
                HasSubstr("\"statusCode\":"));
  }
}

// The runbook entry as the repository has it, with this test's paths.
void WriteTestRunbook(const std::string& dir, const std::string& root,
                      const std::string& log) {
  fs::create_directories(dir + "/runbooks");
  WriteFileOrDie(dir + "/runbooks/xqwatcher.textproto",
                 absl::StrCat(R"(
    entry {
      id: "xqwatcher-disk"
      product: "XQueueWatcher"
      alert: "DiskUsageWarning xqwatcher"
      diagnosis { title: "Filesystems" opsctl: ["df", "{target}"] }
      diagnosis { title: "Largest under the root" opsctl: ["du", "{target}", ")",
                              root, R"(", "--top", "3"] }
      diagnosis { title: "Deleted but open" opsctl: ["open-deleted", "{target}"] }
      mitigation { title: "Truncate the log" opsctl: ["truncate", "{target}", ")",
                              log, R"(", "--keep-tail", "1K"] }
      mitigation { title: "Restart xqwatcher" opsctl: ["restart", "{target}", "xqwatcher", "--retries", "2"] }
      verification { title: "Memory is fine" opsctl: ["mem", "{target}", "--min-available", "1M"] }
    }
    entry {
      id: "impossible-check"
      alert: "NeverHappens"
      diagnosis { title: "Filesystems" opsctl: ["df", "{target}"] }
      verification { title: "No host has a petabyte free" opsctl: ["mem", "{target}", "--min-available", "1000T"] }
      verification { title: "Never reached" opsctl: ["df", "{target}"] }
    }
  )"));
}

TEST_F(XqwatcherRunbookTest,
       RunbookRunDiagnosesMitigatesAndVerifiesUnderOneRunId) {
  WriteTestRunbook(*dir_, *dir_ + "/edx/var", *log_);
  const size_t rows_before = oncall_->AuditRows().size();
  ProgramResult r =
      oncall_->Run({"runbook", "run", "xqwatcher-disk", "--host",
                    "ip-10-7-0-78", "--yes", "--incident", "INC-12"});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("--- diagnosis 1/3: Filesystems"));
  EXPECT_THAT(r.stdout_text, HasSubstr("$ opsctl truncate ip-10-7-0-78 " +
                                       *log_ + " --keep-tail 1K"));
  EXPECT_THAT(r.stdout_text, HasSubstr("runbook xqwatcher-disk: 6 steps done"));
  std::vector<v1::AuditEntry> rows = oncall_->AuditRows();
  ASSERT_EQ(rows.size(), rows_before + 6);
  const std::string run = rows.back().intent().run_id();
  ASSERT_FALSE(run.empty());
  std::vector<std::string> operations;
  for (size_t i = rows_before; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].intent().run_id(), run);
    EXPECT_EQ(rows[i].intent().incident(), "INC-12");
    EXPECT_EQ(rows[i].outcome(), v1::OUTCOME_OK);
    operations.push_back(rows[i].intent().operation());
  }
  EXPECT_EQ(operations, (std::vector<std::string>{
                            "filesystems", "disk_usage", "open_deleted",
                            "truncate_log", "restart_service", "memory"}));
  EXPECT_LT(Size(*log_), 64u << 10);
}

TEST_F(XqwatcherRunbookTest, RunbookRunStopsAtTheFirstFailedCheck) {
  WriteTestRunbook(*dir_, *dir_ + "/edx/var", *log_);
  ProgramResult r = oncall_->Run(
      {"runbook", "run", "impossible-check", "--target", "ip-10-7-0-78"});
  EXPECT_EQ(r.exit_code, 7) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("CHECK FAILED: available"));
  EXPECT_THAT(r.stderr_text,
              HasSubstr("stopped: verification step 1 (No host has a petabyte "
                        "free) exited 7; 1 steps done"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("Never reached")));
}

TEST_F(XqwatcherRunbookTest, TriageFindsTheEntryAndRunsItsDiagnosis) {
  WriteTestRunbook(*dir_, *dir_ + "/edx/var", *log_);
  ProgramResult r =
      oncall_->Run({"triage",
                    "[Prometheus]: [FIRING:1] DiskUsageWarning mitx-production "
                    "(xqwatcher filesystem /dev/root ext4 ip-10-7-0-78 "
                    "integrations/linux_hos",
                    "--run"});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stdout_text,
              HasSubstr("alert: DiskUsageWarning xqwatcher  host ip-10-7-0-78  "
                        "environment production"));
  EXPECT_THAT(r.stdout_text,
              HasSubstr("inventory: ip-10-7-0-78 at 127.0.0.1:"));
  EXPECT_THAT(r.stdout_text, HasSubstr("runbook entry: xqwatcher-disk"));
  EXPECT_THAT(
      r.stdout_text,
      HasSubstr("runbook xqwatcher-disk: 3 steps done"));  // diagnosis only
  // Every step is shown; only the diagnosis runs.
  EXPECT_THAT(r.stdout_text, HasSubstr("mitigation   1. Truncate the log"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("--- mitigation")));
  ProgramResult unknown = oncall_->Run(
      {"triage",
       "[FIRING:1] DiskUsageWarning mitx-production (forum filesystem)"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.stdout_text,
              HasSubstr("no runbook entry for \"DiskUsageWarning forum\"; "
                        "for other roles: xqwatcher-disk"));
}

// Runs last: it kills the agent.
TEST_F(XqwatcherRunbookTest,
       AgentKilledMidRestartIsRecordedAsUnknownNeverSuccess) {
  // In the ASan pass: after its retries against the dead agent, opsctl can
  // exit while gRPC is still tearing down the failed connection, and
  // LeakSanitizer then reports OpenSSL memory owned by Debian's gRPC (not
  // ours), replacing the exit code under test. Leak detection is off for
  // this one process; memory errors are still caught.
  std::vector<std::string> env;
  for (char** var = environ; *var != nullptr; ++var) {
    if (std::string(*var).rfind("ASAN_OPTIONS=", 0) != 0)
      env.emplace_back(*var);
  }
  env.push_back("ASAN_OPTIONS=detect_leaks=0");
  absl::StatusOr<Subprocess> opsctl = Subprocess::Start(
      {{::opsagent::testing::BinaryPath("controller/opsctl/opsctl"), "--config",
        oncall_->config_path(), "restart", "ip-10-7-0-78", "slow", "--yes"},
       env,
       *dir_ + "/killed.out",
       *dir_ + "/killed.err"});
  ASSERT_TRUE(opsctl.ok());
  // The agent is in the 30-second settle period of the restart when it dies.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (agent_->Log().find("start restart_service") == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::SleepFor(absl::Seconds(2));
  agent_->process().Signal(SIGKILL);
  absl::StatusOr<int> code = opsctl->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 6) << ReadFileOrDie(*dir_ + "/killed.err");
  std::vector<v1::AuditEntry> rows = oncall_->AuditRows();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().intent().operation(), "restart_service");
  EXPECT_EQ(rows.back().outcome(), v1::OUTCOME_UNKNOWN);
}

}  // namespace
}  // namespace opsagent
