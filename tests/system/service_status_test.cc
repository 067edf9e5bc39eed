// `opsctl status HOST NAME` against the real systemd and journald: Debian's
// systemd runs as PID 1 of a private PID+mount namespace with journald
// beside it (tests/testing/systemd_agent), the units below log into that
// journal, and the real opsagent reads it with sd-journal. Needs root.

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
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
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::SystemdAgent;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDownReason[] =
    "down: listen tcp :8080: bind: address already in use";

int64_t Number(const google::protobuf::Value& value) {
  // int64 fields are strings in Protobuf's JSON mapping, the rest numbers.
  if (value.has_number_value())
    return static_cast<int64_t>(value.number_value());
  int64_t n = -1;
  return absl::SimpleAtoi(value.string_value(), &n) ? n : -1;
}

class ServiceStatusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SystemdAgent::Options options;
    options.dir = std::getenv("TEST_TMPDIR");
    const std::string flaky = AbsolutePath("tests/testing/flaky_service");
    const std::string head = "[Unit]\nDefaultDependencies=no\n[Service]\n";
    options.units = {
        // Up, with accounting, having logged a line and a line that tries
        // to rewrite the operator's terminal.
        {"web.service",
         head + "MemoryAccounting=yes\nTasksAccounting=yes\n"
                "ExecStart=/bin/sh -c 'echo web: listening on :8080; "
                "printf \"\\033]0;owned\\007\\033[2Kforged prompt\\n\"; "
                "exec sleep infinity'\n"},
        // Fails its first start, is restarted by systemd itself: NRestarts 1.
        {"flaky.service", head +
                              "Restart=on-failure\nRestartSec=200ms\n"
                              "ExecStart=" +
                              flaky + " " + AbsolutePath(options.dir) +
                              "/FAILONCE\n"},
        // Never stays up, and says why.
        {"down.service", head + "Type=exec\nExecStart=" + flaky + " --fail \"" +
                             kDownReason + "\"\n"},
    };
    WriteFileOrDie(options.dir + "/FAILONCE", "");
    options.agent_config =
        "restartable { name: \"web.service\" manager: SYSTEMD_UNIT }\n"
        "restartable { name: \"flaky.service\" manager: SYSTEMD_UNIT }\n"
        "restartable { name: \"down.service\" manager: SYSTEMD_UNIT }\n";
    absl::StatusOr<std::unique_ptr<SystemdAgent>> agent =
        SystemdAgent::Start(options);
    if (!agent.ok()) {
      *start_error_ = std::string(agent.status().message());
      return;
    }
    agent_ = agent->release();
  }

  static void TearDownTestSuite() {
    delete agent_;
    agent_ = nullptr;
  }

  void SetUp() override {
    if (agent_ == nullptr) GTEST_SKIP() << *start_error_;
  }

  static std::string Show(const std::string& unit,
                          const std::string& property) {
    return agent_->Show(unit, property);
  }

  // `opsctl status localhost UNIT --output json`, parsed; the exit code
  // is checked against `exit_code`.
  static google::protobuf::Value StatusJson(const std::string& unit,
                                            int exit_code) {
    ProgramResult r =
        agent_->oncall().Run({"status", "localhost", unit, "--output", "json"});
    EXPECT_EQ(r.exit_code, exit_code) << r.stdout_text << r.stderr_text;
    return ParseJson(r.stdout_text);
  }

  static SystemdAgent* agent_;
  static std::string* start_error_;
};

SystemdAgent* ServiceStatusTest::agent_ = nullptr;
std::string* ServiceStatusTest::start_error_ = new std::string;

TEST_F(ServiceStatusTest, ShowsWhatSystemctlStatusShowsAndTheJournal) {
  const google::protobuf::Value json = StatusJson("web.service", 0);
  EXPECT_EQ(JsonField(json, "outcome").string_value(), "ok");
  const auto& r = JsonField(json, "result");
  EXPECT_TRUE(JsonField(r, "up").bool_value());
  EXPECT_EQ(JsonField(r, "manager").string_value(), "SYSTEMD");
  const auto& state = JsonField(r, "state");
  EXPECT_EQ(JsonField(state, "active_state").string_value(), "active");
  EXPECT_EQ(JsonField(state, "sub_state").string_value(), "running");
  // The same facts systemd gives systemctl.
  EXPECT_EQ(std::to_string(Number(JsonField(state, "main_pid"))),
            Show("web.service", "MainPID"));
  absl::StatusOr<ProgramResult> since =
      agent_->RunInside({"/bin/systemctl", "show", "--timestamp=unix", "-p",
                         "ActiveEnterTimestamp", "--value", "web.service"});
  ASSERT_TRUE(since.ok());
  absl::string_view seconds = absl::StripAsciiWhitespace(since->stdout_text);
  int64_t since_seconds = 0;
  ASSERT_TRUE(absl::ConsumePrefix(&seconds, "@") &&
              absl::SimpleAtoi(seconds, &since_seconds))
      << since->stdout_text;
  EXPECT_EQ(Number(JsonField(r, "since_unix_ms")) / 1000, since_seconds);
  EXPECT_EQ(std::to_string(Number(JsonField(r, "restarts"))),
            Show("web.service", "NRestarts"));
  const std::string tasks = Show("web.service", "TasksCurrent");
  if (tasks == "[not set]") {
    EXPECT_EQ(JsonField(r, "tasks").kind_case(),
              google::protobuf::Value::KIND_NOT_SET);
  } else {
    EXPECT_EQ(std::to_string(Number(JsonField(r, "tasks"))), tasks);
  }
  if (Show("web.service", "MemoryCurrent") != "[not set]")
    EXPECT_GT(Number(JsonField(r, "memory_bytes")), 0);

  bool listening = false;
  for (const auto& line : JsonField(r, "recent_log").list_value().values()) {
    const std::string text = JsonField(line, "text").string_value();
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    if (text == "web: listening on :8080") {
      listening = true;
      EXPECT_THAT(JsonField(line, "source").string_value(), HasSubstr("sh["));
      EXPECT_GT(Number(JsonField(line, "time_unix_micros")), 0);
    }
  }
  EXPECT_TRUE(listening) << JsonField(r, "recent_log").DebugString();

  // For people: laid out like systemctl status, the terminal left alone.
  ProgramResult table =
      agent_->oncall().Run({"status", "localhost", "web.service"});
  ASSERT_EQ(table.exit_code, 0) << table.stderr_text;
  EXPECT_THAT(table.stdout_text, HasSubstr("Active: active (running) since "));
  EXPECT_THAT(table.stdout_text,
              HasSubstr("Main PID: " + Show("web.service", "MainPID")));
  EXPECT_THAT(table.stdout_text, HasSubstr("web: listening on :8080"));
  EXPECT_THAT(table.stdout_text, HasSubstr("\\x1b]0;owned"));
  EXPECT_THAT(table.stdout_text, Not(HasSubstr("\x1b")));
  // Audited like every operation, with its summary.
  const v1::AuditEntry row = agent_->oncall().AuditRows().back();
  EXPECT_EQ(row.intent().operation(), "service_status");
  EXPECT_FALSE(row.intent().mutating());
  ASSERT_TRUE(row.has_result());
  EXPECT_THAT(row.result().summary(), HasSubstr("web.service active/running"));
}

TEST_F(ServiceStatusTest, CountsTheRestartsSystemdDidItself) {
  // flaky.service failed its first start; systemd restarted it.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (Show("flaky.service", "ActiveState") != "active" &&
         absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(100));
  ASSERT_EQ(Show("flaky.service", "NRestarts"), "1");
  const google::protobuf::Value json = StatusJson("flaky.service", 0);
  const auto& r = JsonField(json, "result");
  EXPECT_EQ(Number(JsonField(r, "restarts")), 1);
  bool said_why = false;
  for (const auto& line : JsonField(r, "recent_log").list_value().values()) {
    said_why |= absl::StrContains(JsonField(line, "text").string_value(),
                                  "was present; failing this start");
  }
  EXPECT_TRUE(said_why);
}

TEST_F(ServiceStatusTest, AServiceThatIsDownExitsSevenAndSaysWhy) {
  const google::protobuf::Value json = StatusJson("down.service", 7);
  // Reading the state worked (audited ok); the service is what is down.
  EXPECT_EQ(JsonField(json, "outcome").string_value(), "ok");
  const auto& r = JsonField(json, "result");
  EXPECT_FALSE(JsonField(r, "up").bool_value());
  EXPECT_EQ(JsonField(JsonField(r, "state"), "active_state").string_value(),
            "failed");
  EXPECT_EQ(JsonField(r, "result").string_value(), "exit-code");
  ASSERT_GT(JsonField(r, "recent_log").list_value().values_size(), 0);
  EXPECT_EQ(
      JsonField(*JsonField(r, "recent_log").list_value().values().rbegin(),
                "text")
          .string_value(),
      kDownReason);
  ProgramResult table =
      agent_->oncall().Run({"status", "localhost", "down.service"});
  EXPECT_EQ(table.exit_code, 7);
  EXPECT_THAT(table.stdout_text, HasSubstr("× down.service (systemd)"));
  EXPECT_THAT(table.stdout_text, HasSubstr("Result: exit-code"));
  EXPECT_THAT(table.stdout_text, HasSubstr(kDownReason));
  EXPECT_THAT(table.stderr_text,
              HasSubstr("CHECK FAILED: down.service is not up"));
}

TEST_F(ServiceStatusTest, LinesAreBoundedAndAskedFor) {
  ProgramResult two =
      agent_->oncall().Run({"status", "localhost", "web.service", "--lines",
                            "1", "--output", "json"});
  ASSERT_EQ(two.exit_code, 0) << two.stderr_text;
  EXPECT_EQ(
      JsonField(JsonField(ParseJson(two.stdout_text), "result"), "recent_log")
          .list_value()
          .values_size(),
      1);
  ProgramResult too_many = agent_->oncall().Run(
      {"status", "localhost", "web.service", "--lines", "201"});
  EXPECT_EQ(too_many.exit_code, 2);
  EXPECT_THAT(too_many.stderr_text, HasSubstr("--lines takes a number"));
  // The agent enforces its own bound, whatever a client sends.
  v1::Host host;
  host.set_name("localhost");
  host.set_address(absl::StrCat("127.0.0.1:", agent_->port()));
  auto client = AgentClient::Connect(
      {agent_->oncall_files().certificate, agent_->oncall_files().private_key,
       agent_->ca().certificate_path()},
      host, absl::Seconds(10));
  ASSERT_TRUE(client.ok());
  v1::ServiceStatusRequest request;
  request.set_name("web.service");
  request.set_log_lines(100000);
  auto reply = (*client)->Call<v1::ServiceStatusReply>(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reply.status().message(), HasSubstr("above the limit of 200"));
}

TEST_F(ServiceStatusTest, OnlyAllowListedServicesAreShown) {
  for (const std::string name :
       {"ssh.service", "opsagent.service", "systemd-journald.service",
        "web.service; reboot", "../web.service", "--help"}) {
    ProgramResult r = agent_->oncall().Run({"status", "--", "localhost", name});
    EXPECT_EQ(r.exit_code, 3) << name << ": " << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr("is not restartable on this host"))
        << name;
    EXPECT_THAT(r.stdout_text, Not(HasSubstr("Active:"))) << name;
  }
}

TEST_F(ServiceStatusTest, JournalFieldsAnyProcessCanWriteAreNotBelieved) {
  // A local user logs entries claiming to be about web.service: UNIT= is
  // what systemd itself sets, OBJECT_SYSTEMD_UNIT= what root daemons set,
  // but journald lets any process write both. Only _SYSTEMD_UNIT (set by
  // journald from the cgroup) and those fields from PID 1 or root count.
  // Where the unprivileged user can read it (the test's directory is under
  // root's home).
  char entry_template[] = "/tmp/opsagent-forged-XXXXXX";
  const int fd = mkstemp(entry_template);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string entry = entry_template;
  WriteFileOrDie(entry,
                 "MESSAGE=forged: web.service is fine, ignore the alert\n"
                 "UNIT=web.service\nOBJECT_SYSTEMD_UNIT=web.service\n");
  chmod(entry.c_str(), 0644);
  absl::StatusOr<ProgramResult> logged = agent_->RunInside(
      {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
       "/usr/bin/logger", "--journald=" + entry});
  unlink(entry.c_str());
  ASSERT_TRUE(logged.ok());
  ASSERT_EQ(logged->exit_code, 0) << logged->stderr_text;
  // Matching on UNIT= alone finds it: the forged entry is in the journal.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  bool in_journal = false;
  while (!in_journal && absl::Now() < deadline) {
    absl::StatusOr<ProgramResult> all = agent_->RunInside(
        {"/bin/journalctl", "--no-pager", "-o", "cat", "UNIT=web.service"});
    in_journal = all.ok() && absl::StrContains(all->stdout_text, "forged:");
    if (!in_journal) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(in_journal);
  ProgramResult r = agent_->oncall().Run(
      {"status", "localhost", "web.service", "--lines", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("web: listening on :8080"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("forged:")));
}

}  // namespace
}  // namespace opsagent
