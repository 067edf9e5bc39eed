// Restarts against the real systemd: Debian's systemd runs as PID 1 of a
// private PID+mount namespace (tests/testing/systemd_namespace), the real
// opsagent runs inside it as a Type=notify service, and the real opsctl
// drives it over mutual TLS. Needs root (namespaces, mounts).

#include <stdlib.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "controller/agent_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/systemd_agent.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AbsolutePath;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::SystemdAgent;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

// Journal lines (JSON, zero fields omitted): each change that finished did
// so with a non-zero status, and at least one did.
bool EveryChangeFailed(const std::string& journal_lines) {
  int finished = 0;
  for (absl::string_view line : absl::StrSplit(journal_lines, '\n')) {
    if (!absl::StrContains(line, "\"event\":\"FINISHED\"")) continue;
    ++finished;
    if (!absl::StrContains(line, "\"statusCode\":")) return false;
  }
  return finished > 0;
}

constexpr char kBrokenReason[] =
    "broken: cannot read /etc/broken/broken.conf: No such file or directory";

class SystemdRestartTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SystemdAgent::Options options;
    options.dir = std::getenv("TEST_TMPDIR");
    const std::string flaky = AbsolutePath("tests/testing/flaky_service");
    const std::string unit_head = "[Unit]\nDefaultDependencies=no\n[Service]\n";
    options.units = {
        {"healthy.service", unit_head + "ExecStart=" + flaky + "\n"},
        {"flaky.service", unit_head + "ExecStart=" + flaky + " " +
                              AbsolutePath(options.dir) + "/FAILONCE\n"},
        // Never stays up, and says why on stderr, into the journal.
        {"broken.service", unit_head + "Type=exec\nExecStart=" + flaky +
                               " --fail \"" + kBrokenReason + "\"\n"},
        {"salt-master.service", unit_head + "ExecStart=" + flaky + "\n"},
        {"hungry.service", unit_head + "ExecStart=" + flaky + "\n"},
    };
    // The agent journals every change in the test's directory, which the
    // hardened unit must then let it write.
    options.unit_overrides =
        absl::StrCat("ReadWritePaths=", AbsolutePath(options.dir), "\n");
    options.agent_config = absl::StrCat(
        "journal_path: \"", AbsolutePath(options.dir), "/journal.jsonl\"\n",
        "restartable { name: \"healthy.service\" manager: "
        "SYSTEMD_UNIT settle_seconds: 1 }\n",
        "restartable { name: \"flaky.service\" manager: "
        "SYSTEMD_UNIT settle_seconds: 1 }\n",
        "restartable { name: \"broken.service\" manager: "
        "SYSTEMD_UNIT settle_seconds: 1 "
        "max_attempts: 3 backoff_seconds: 1 }\n",
        // Like salt-master: restart, wait, then memory available must clear
        // a bar.
        "restartable { name: \"salt-master.service\" manager: "
        "SYSTEMD_UNIT settle_seconds: 1 "
        "min_available_memory_bytes: 1048576 "
        "post_check_wait_seconds: 1 }\n",
        "restartable { name: \"hungry.service\" manager: "
        "SYSTEMD_UNIT settle_seconds: 1 "
        "max_attempts: 1 min_available_memory_bytes: "
        "1125899906842624 post_check_wait_seconds: 1 }\n");
    absl::StatusOr<std::unique_ptr<SystemdAgent>> agent =
        SystemdAgent::Start(options);
    if (!agent.ok()) {
      *start_error_ = std::string(agent.status().message());
      return;
    }
    agent_ = agent->release();
    dir_ = new std::string(agent_->dir());
    opsctl_ = &agent_->oncall();
    port_ = agent_->port();
  }

  static void TearDownTestSuite() {
    delete agent_;
    agent_ = nullptr;
  }

  // Every case needs the fixture: without it (not root, no systemd), each
  // is skipped with the reason instead of failing or crashing.
  void SetUp() override {
    if (agent_ == nullptr) GTEST_SKIP() << *start_error_;
  }

  // What systemctl inside the namespace says about `unit`.
  static std::string Show(const std::string& unit,
                          const std::string& property) {
    return agent_->Show(unit, property);
  }

  static SystemdAgent* agent_;
  static std::string* start_error_;
  static std::string* dir_;
  static OpsctlRunner* opsctl_;
  static int port_;
};

SystemdAgent* SystemdRestartTest::agent_ = nullptr;
std::string* SystemdRestartTest::start_error_ = new std::string;
std::string* SystemdRestartTest::dir_;
OpsctlRunner* SystemdRestartTest::opsctl_;
int SystemdRestartTest::port_;

TEST_F(SystemdRestartTest, AgentRunsAsANotifyService) {
  EXPECT_EQ(Show("opsagent.service", "Type"), "notify");
  EXPECT_EQ(Show("opsagent.service", "ActiveState"), "active");
}

TEST_F(SystemdRestartTest, RestartsAHealthyUnitAndReportsTheNewMainPid) {
  const std::string pid_before = Show("healthy.service", "MainPID");
  ProgramResult r = opsctl_->Run(
      {"restart", "localhost", "healthy.service", "--yes", "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  const google::protobuf::Value json = ParseJson(r.stdout_text);
  const auto& result = JsonField(json, "result");
  EXPECT_TRUE(JsonField(result, "succeeded").bool_value());
  EXPECT_EQ(JsonField(result, "attempts").list_value().values_size(), 1);
  const std::string pid_after = Show("healthy.service", "MainPID");
  EXPECT_NE(pid_after, pid_before);
  EXPECT_EQ(
      std::to_string(static_cast<int>(
          JsonField(JsonField(result, "after"), "main_pid").number_value())),
      pid_after);
  EXPECT_EQ(Show("healthy.service", "ActiveState"), "active");
  std::vector<v1::AuditEntry> rows = opsctl_->AuditRows();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().outcome(), v1::OUTCOME_OK);
  EXPECT_TRUE(rows.back().intent().mutating());
}

TEST_F(SystemdRestartTest, RetriesAUnitThatFailsItsFirstStart) {
  WriteFileOrDie(*dir_ + "/FAILONCE", "");
  ProgramResult r =
      opsctl_->Run({"restart", "localhost", "flaky.service", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("attempt 1: FAILED"));
  EXPECT_THAT(r.stdout_text, HasSubstr("attempt 2: ok"));
  EXPECT_EQ(Show("flaky.service", "ActiveState"), "active");
}

TEST_F(SystemdRestartTest, GivesUpOnAUnitThatNeverComesUpWithTheLastState) {
  // For people: every attempt with its state, where it ended, and the
  // unit's own journal lines saying why.
  ProgramResult r =
      opsctl_->Run({"restart", "localhost", "broken.service", "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text << r.stderr_text;
  for (const char* attempt :
       {"attempt 1: FAILED", "attempt 2: FAILED", "attempt 3: FAILED"}) {
    EXPECT_THAT(r.stdout_text, HasSubstr(attempt)) << r.stdout_text;
  }
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("attempt 4")));
  EXPECT_THAT(r.stdout_text,
              HasSubstr("broken.service: pid 0 -> 0, now failed/failed"));
  EXPECT_THAT(r.stdout_text, HasSubstr("log lines of broken.service:"));
  EXPECT_THAT(r.stdout_text, HasSubstr(kBrokenReason));
  EXPECT_THAT(r.stderr_text, HasSubstr("FAILED to restart broken.service"));
  const v1::AuditEntry table_row = opsctl_->AuditRows().back();
  EXPECT_EQ(table_row.outcome(), v1::OUTCOME_ERROR);
  ASSERT_TRUE(table_row.has_result());
  EXPECT_THAT(table_row.result().result_json(), HasSubstr("\"attempts\""));
  EXPECT_THAT(table_row.result().result_json(), HasSubstr(kBrokenReason));
  // And `opsctl audit` shows it to whoever asks after the incident.
  ProgramResult audit = opsctl_->Run(
      {"audit", "--operation", "restart_service", "--output", "json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.stderr_text;
  // One JSON array, still valid with the results embedded in it.
  const google::protobuf::Value audited = ParseJson(audit.stdout_text);
  ASSERT_GT(audited.list_value().values_size(), 0) << audit.stdout_text;
  const google::protobuf::Value& last = *audited.list_value().values().rbegin();
  EXPECT_EQ(JsonField(last, "outcome").string_value(), "error");
  const auto& audited_result = JsonField(last, "result");
  EXPECT_EQ(JsonField(audited_result, "attempts").list_value().values_size(),
            3);
  EXPECT_GT(JsonField(audited_result, "recent_log").list_value().values_size(),
            0);
  EXPECT_THAT(audit.stdout_text, HasSubstr(kBrokenReason));

  // For programs: the same, structured, with the error beside it.
  ProgramResult j = opsctl_->Run(
      {"restart", "localhost", "broken.service", "--yes", "--output", "json"});
  EXPECT_EQ(j.exit_code, 1) << j.stdout_text << j.stderr_text;
  const google::protobuf::Value json = ParseJson(j.stdout_text);
  EXPECT_EQ(JsonField(json, "outcome").string_value(), "error");
  EXPECT_EQ(JsonField(JsonField(json, "error"), "code").string_value(),
            "FAILED_PRECONDITION");
  const auto& result = JsonField(json, "result");
  EXPECT_FALSE(JsonField(result, "succeeded").bool_value());
  const auto& attempts = JsonField(result, "attempts").list_value();
  ASSERT_EQ(attempts.values_size(), 3);
  for (const google::protobuf::Value& attempt : attempts.values()) {
    EXPECT_FALSE(JsonField(attempt, "succeeded").bool_value());
    EXPECT_FALSE(JsonField(attempt, "error").string_value().empty());
    EXPECT_EQ(
        JsonField(JsonField(attempt, "state"), "active_state").string_value(),
        "failed");
  }
  EXPECT_EQ(
      JsonField(JsonField(result, "after"), "active_state").string_value(),
      "failed");
  bool said_why = false;
  for (const google::protobuf::Value& line :
       JsonField(result, "recent_log").list_value().values()) {
    if (JsonField(line, "text").string_value() == kBrokenReason) {
      said_why = true;
      EXPECT_THAT(JsonField(line, "source").string_value(),
                  HasSubstr("flaky_service["));
      int64_t micros = 0;  // int64 is a string in Protobuf's JSON
      EXPECT_TRUE(absl::SimpleAtoi(
          JsonField(line, "time_unix_micros").string_value(), &micros));
      EXPECT_GT(micros, 0);
    }
  }
  EXPECT_TRUE(said_why) << j.stdout_text;
  EXPECT_EQ(Show("broken.service", "ActiveState"), "failed");
}

TEST_F(SystemdRestartTest, ChecksMemoryAvailableAfterTheRestart) {
  ProgramResult ok =
      opsctl_->Run({"restart", "localhost", "salt-master.service", "--yes"});
  ASSERT_EQ(ok.exit_code, 0) << ok.stdout_text << ok.stderr_text;
  EXPECT_THAT(
      ok.stdout_text,
      HasSubstr("check memory available >= 1.0M after 1s: passed (available "));
  // A bar no host clears: restarted, but the check fails, and so does the
  // command.
  ProgramResult hungry =
      opsctl_->Run({"restart", "localhost", "hungry.service", "--yes"});
  EXPECT_EQ(hungry.exit_code, 1) << hungry.stdout_text;
  EXPECT_THAT(hungry.stderr_text,
              HasSubstr("check memory available >= 1.0P after 1s: FAILED"));
  EXPECT_EQ(Show("hungry.service", "ActiveState"), "active");
  EXPECT_EQ(opsctl_->AuditRows().back().outcome(), v1::OUTCOME_ERROR);
}

TEST_F(SystemdRestartTest, RefusesUnitsNotAllowListedAndTheAgentItself) {
  const std::string agent_pid = Show("opsagent.service", "MainPID");
  const std::string healthy_pid = Show("healthy.service", "MainPID");
  const std::string healthy_restarts = Show("healthy.service", "NRestarts");
  const std::string journal = ReadFileOrDie(*dir_ + "/journal.jsonl");
  ProgramResult self =
      opsctl_->Run({"restart", "localhost", "opsagent.service", "--yes"});
  EXPECT_EQ(self.exit_code, 3);
  EXPECT_THAT(self.stderr_text, HasSubstr("does not restart itself"));
  ProgramResult other =
      opsctl_->Run({"restart", "localhost", "ssh.service", "--yes"});
  EXPECT_EQ(other.exit_code, 3);
  EXPECT_THAT(other.stderr_text, HasSubstr("not restartable on this host"));
  ProgramResult injection = opsctl_->Run(
      {"restart", "localhost", "healthy.service; reboot", "--yes"});
  EXPECT_EQ(injection.exit_code, 3);
  // A name that would be an option to systemctl or supervisorctl.
  ProgramResult option =
      opsctl_->Run({"restart", "--yes", "--", "localhost", "--help"});
  EXPECT_EQ(option.exit_code, 3) << option.stderr_text;
  EXPECT_THAT(option.stderr_text, HasSubstr("not restartable on this host"));
  // Nothing was restarted, least of all healthy.service, whose name the
  // injection begins with; the journal shows each attempt refused.
  EXPECT_EQ(Show("opsagent.service", "MainPID"), agent_pid);
  EXPECT_EQ(Show("healthy.service", "MainPID"), healthy_pid);
  EXPECT_EQ(Show("healthy.service", "NRestarts"), healthy_restarts);
  EXPECT_EQ(Show("healthy.service", "ActiveState"), "active");
  const std::string added =
      ReadFileOrDie(*dir_ + "/journal.jsonl").substr(journal.size());
  EXPECT_THAT(added, HasSubstr("healthy.service; reboot"));
  EXPECT_TRUE(EveryChangeFailed(added)) << added;
}

TEST_F(SystemdRestartTest, DryRunChangesNothing) {
  const std::string pid_before = Show("healthy.service", "MainPID");
  ProgramResult r =
      opsctl_->Run({"restart", "localhost", "healthy.service", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stdout_text,
              HasSubstr("DRY RUN: would restart healthy.service"));
  EXPECT_EQ(Show("healthy.service", "MainPID"), pid_before);
}

TEST_F(SystemdRestartTest, ARetriedRequestIdActsOnce) {
  v1::Host host;
  host.set_name("localhost");
  host.set_address(absl::StrCat("127.0.0.1:", port_));
  auto client = AgentClient::Connect(
      {agent_->oncall_files().certificate, agent_->oncall_files().private_key,
       agent_->ca().certificate_path()},
      host, absl::Seconds(60));
  ASSERT_TRUE(client.ok());
  v1::RestartServiceRequest request;
  request.mutable_meta()->set_request_id("retry-test-1");
  request.set_name("healthy.service");
  auto first = (*client)->Call<v1::RestartServiceReply>(request);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string pid_after_first = Show("healthy.service", "MainPID");
  auto second =
      (*client)->Call<v1::RestartServiceReply>(request);  // as after a timeout
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Show("healthy.service", "MainPID"),
            pid_after_first);  // not restarted again
  EXPECT_EQ(second->after().main_pid(), first->after().main_pid());
  EXPECT_THAT(agent_->AgentLog(), HasSubstr("replayed restart_service"));
}

}  // namespace
}  // namespace opsagent
