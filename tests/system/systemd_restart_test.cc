// Restarts against the real systemd: Debian's systemd runs as PID 1 of a
// private PID+mount namespace (tests/testing/systemd_namespace), the real
// opsagent runs inside it as a Type=notify service, and the real opsctl
// drives it over mutual TLS. Needs root (namespaces, mounts).

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "controller/agent_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AbsolutePath;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;

class SystemdRestartTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for namespaces";
    dir_ = new std::string(AbsolutePath(std::getenv("TEST_TMPDIR")));
    const std::string units = *dir_ + "/units";
    mkdir(units.c_str(), 0755);
    auto ca =
        ::opsagent::testing::TestCertificateAuthority::Create(*dir_, "main");
    ASSERT_TRUE(ca.ok());
    ::opsagent::testing::CertificateSpec agent_spec{
        "localhost", {}, {"localhost"}, {"127.0.0.1"}};
    agent_spec.server = true;
    auto agent_cert = (*ca)->Issue("agent", agent_spec);
    auto oncall = (*ca)->Issue("oncall", {"alice", {"oncall"}});
    ASSERT_TRUE(agent_cert.ok() && oncall.ok());
    port_ = ::opsagent::testing::PickFreePort();

    const std::string flaky = AbsolutePath("tests/testing/flaky_service");
    const std::string unit_head = "[Unit]\nDefaultDependencies=no\n[Service]\n";
    WriteFileOrDie(units + "/test.target",
                   "[Unit]\nDefaultDependencies=no\nWants=healthy.service "
                   "flaky.service opsagent.service\n");
    WriteFileOrDie(units + "/healthy.service",
                   unit_head + "ExecStart=" + flaky + "\n");
    WriteFileOrDie(units + "/flaky.service", unit_head + "ExecStart=" + flaky +
                                                 " " + *dir_ + "/FAILONCE\n");
    WriteFileOrDie(units + "/broken.service",
                   unit_head + "Type=exec\nExecStart=/bin/false\n");
    WriteFileOrDie(units + "/salt-master.service",
                   unit_head + "ExecStart=" + flaky + "\n");
    WriteFileOrDie(units + "/hungry.service",
                   unit_head + "ExecStart=" + flaky + "\n");
    // The agent runs under the hardened unit that ships in deploy/, with
    // only its paths changed: the restarts below prove the hardening leaves
    // what the agent needs.
    std::string unit = ReadFileOrDie("deploy/systemd/opsagent.service");
    unit = absl::StrReplaceAll(
        unit, {{"/usr/sbin/opsagent", AbsolutePath("agent/opsagent")},
               {"/etc/opsagent/agent.textproto", *dir_ + "/agent.textproto"},
               {"After=network-online.target\nWants=network-online.target\n",
                "DefaultDependencies=no\n"}});
    unit = absl::StrReplaceAll(
        unit, {{"[Install]",
                absl::StrCat(
                    "StandardError=append:", *dir_, "/agent.log\n",
                    // In the ASan+UBSan pass: LeakSanitizer cannot stop
                    // threads under the unit's system call filter;
                    // memory errors are still caught.
                    "Environment=ASAN_OPTIONS=detect_leaks=0\n\n[Install]")}});
    ASSERT_THAT(unit, ::testing::HasSubstr("CapabilityBoundingSet="));
    WriteFileOrDie(units + "/opsagent.service", unit);
    WriteFileOrDie(
        *dir_ + "/agent.textproto",
        absl::StrCat("listen_address: \"127.0.0.1:", port_, "\"\n",
                     "tls { certificate: \"", agent_cert->certificate,
                     "\" private_key: \"", agent_cert->private_key,
                     "\" ca_certificate: \"", (*ca)->certificate_path(),
                     "\" }\n", "hostname: \"localhost\"\n",
                     "authorization { roles: \"oncall\" operations: \"*\" }\n",
                     "restartable { name: \"healthy.service\" manager: "
                     "SYSTEMD_UNIT settle_seconds: 1 }\n",
                     "restartable { name: \"flaky.service\" manager: "
                     "SYSTEMD_UNIT settle_seconds: 1 }\n",
                     "restartable { name: \"broken.service\" manager: "
                     "SYSTEMD_UNIT settle_seconds: 1 "
                     "max_attempts: 3 backoff_seconds: 1 }\n",
                     // Like salt-master: restart, wait, then memory available
                     // must clear a bar.
                     "restartable { name: \"salt-master.service\" manager: "
                     "SYSTEMD_UNIT settle_seconds: 1 "
                     "min_available_memory_bytes: 1048576 "
                     "post_check_wait_seconds: 1 }\n",
                     "restartable { name: \"hungry.service\" manager: "
                     "SYSTEMD_UNIT settle_seconds: 1 "
                     "max_attempts: 1 min_available_memory_bytes: "
                     "1125899906842624 post_check_wait_seconds: 1 }\n"));
    auto launcher = Subprocess::Start(
        {{"tests/testing/systemd_namespace", units, "test.target"},
         std::nullopt,
         *dir_ + "/init.pid",
         *dir_ + "/systemd.log"});
    ASSERT_TRUE(launcher.ok()) << launcher.status();
    launcher_ = new Subprocess(*std::move(launcher));
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (init_pid_ == 0 && absl::Now() < deadline) {
      absl::SimpleAtoi(
          absl::StripAsciiWhitespace(ReadFileOrDie(*dir_ + "/init.pid")),
          &init_pid_);
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_GT(init_pid_, 0) << ReadFileOrDie(*dir_ + "/systemd.log");
    opsctl_ = new OpsctlRunner(*dir_, "alice", oncall->certificate,
                               oncall->private_key, (*ca)->certificate_path(),
                               "localhost", port_);
    while (absl::Now() < deadline &&
           opsctl_->Run({"info", "localhost"}).exit_code != 0) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    ASSERT_EQ(opsctl_->Run({"info", "localhost"}).exit_code, 0)
        << ReadFileOrDie(*dir_ + "/systemd.log")
        << ReadFileOrDie(*dir_ + "/agent.log");
  }

  static void TearDownTestSuite() {
    if (init_pid_ > 0)
      kill(init_pid_, SIGKILL);  // ends everything in the namespace
    delete launcher_;
    launcher_ = nullptr;
  }

  // What systemctl inside the namespace says about `unit`.
  static std::string Show(const std::string& unit,
                          const std::string& property) {
    absl::StatusOr<CommandResult> r = RunCommand(
        {"/usr/bin/nsenter", "-t", std::to_string(init_pid_), "-m", "-p",
         "/bin/systemctl", "show", "-p", property, "--value", unit},
        absl::Seconds(10));
    return r.ok() ? std::string(absl::StripAsciiWhitespace(r->stdout_text))
                  : "";
  }

  static std::string* dir_;
  static Subprocess* launcher_;
  static OpsctlRunner* opsctl_;
  static int init_pid_;
  static int port_;
};

std::string* SystemdRestartTest::dir_;
Subprocess* SystemdRestartTest::launcher_;
OpsctlRunner* SystemdRestartTest::opsctl_;
int SystemdRestartTest::init_pid_ = 0;
int SystemdRestartTest::port_;

TEST_F(SystemdRestartTest, AgentRunsAsANotifyService) {
  EXPECT_EQ(Show("opsagent.service", "Type"), "notify");
  EXPECT_EQ(Show("opsagent.service", "ActiveState"), "active");
}

TEST_F(SystemdRestartTest, RestartsAHealthyUnitAndReportsTheNewMainPid) {
  const std::string pid_before = Show("healthy.service", "MainPID");
  CommandResult r = opsctl_->Run(
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
  std::vector<AuditRecord> rows = opsctl_->AuditRows();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().outcome, AuditOutcome::kOk);
  EXPECT_TRUE(rows.back().intent.mutating);
}

TEST_F(SystemdRestartTest, RetriesAUnitThatFailsItsFirstStart) {
  WriteFileOrDie(*dir_ + "/FAILONCE", "");
  CommandResult r =
      opsctl_->Run({"restart", "localhost", "flaky.service", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("attempt 1: FAILED"));
  EXPECT_THAT(r.stdout_text, HasSubstr("attempt 2: ok"));
  EXPECT_EQ(Show("flaky.service", "ActiveState"), "active");
}

TEST_F(SystemdRestartTest, GivesUpOnAUnitThatNeverComesUpWithTheLastState) {
  CommandResult r =
      opsctl_->Run({"restart", "localhost", "broken.service", "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.stdout_text << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("FAILED to restart broken.service"));
  EXPECT_THAT(r.stderr_text, HasSubstr("#3 "));
  EXPECT_THAT(r.stderr_text, HasSubstr("failed"));
  EXPECT_EQ(opsctl_->AuditRows().back().outcome, AuditOutcome::kError);
}

TEST_F(SystemdRestartTest, ChecksMemoryAvailableAfterTheRestart) {
  CommandResult ok =
      opsctl_->Run({"restart", "localhost", "salt-master.service", "--yes"});
  ASSERT_EQ(ok.exit_code, 0) << ok.stdout_text << ok.stderr_text;
  EXPECT_THAT(
      ok.stdout_text,
      HasSubstr("check memory available >= 1.0M after 1s: passed (available "));
  // A bar no host clears: restarted, but the check fails, and so does the
  // command.
  CommandResult hungry =
      opsctl_->Run({"restart", "localhost", "hungry.service", "--yes"});
  EXPECT_EQ(hungry.exit_code, 1) << hungry.stdout_text;
  EXPECT_THAT(hungry.stderr_text,
              HasSubstr("check memory available >= 1.0P after 1s: FAILED"));
  EXPECT_EQ(Show("hungry.service", "ActiveState"), "active");
  EXPECT_EQ(opsctl_->AuditRows().back().outcome, AuditOutcome::kError);
}

TEST_F(SystemdRestartTest, RefusesUnitsNotAllowListedAndTheAgentItself) {
  const std::string agent_pid = Show("opsagent.service", "MainPID");
  CommandResult self =
      opsctl_->Run({"restart", "localhost", "opsagent.service", "--yes"});
  EXPECT_EQ(self.exit_code, 3);
  EXPECT_THAT(self.stderr_text, HasSubstr("does not restart itself"));
  CommandResult other =
      opsctl_->Run({"restart", "localhost", "ssh.service", "--yes"});
  EXPECT_EQ(other.exit_code, 3);
  EXPECT_THAT(other.stderr_text, HasSubstr("not restartable on this host"));
  CommandResult injection = opsctl_->Run(
      {"restart", "localhost", "healthy.service; reboot", "--yes"});
  EXPECT_EQ(injection.exit_code, 3);
  // A name that would be an option to systemctl or supervisorctl.
  CommandResult option =
      opsctl_->Run({"restart", "--yes", "--", "localhost", "--help"});
  EXPECT_EQ(option.exit_code, 3) << option.stderr_text;
  EXPECT_THAT(option.stderr_text, HasSubstr("not restartable on this host"));
  EXPECT_EQ(Show("opsagent.service", "MainPID"), agent_pid);
}

TEST_F(SystemdRestartTest, DryRunChangesNothing) {
  const std::string pid_before = Show("healthy.service", "MainPID");
  CommandResult r =
      opsctl_->Run({"restart", "localhost", "healthy.service", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stdout_text,
              HasSubstr("DRY RUN: would restart healthy.service"));
  EXPECT_EQ(Show("healthy.service", "MainPID"), pid_before);
}

TEST_F(SystemdRestartTest, ARetriedRequestIdActsOnce) {
  auto ca_path = *dir_ + "/main-ca.crt";
  v1::Host host;
  host.set_name("localhost");
  host.set_address(absl::StrCat("127.0.0.1:", port_));
  auto client = AgentClient::Connect(
      {*dir_ + "/oncall.crt", *dir_ + "/oncall.key", ca_path}, host,
      absl::Seconds(60));
  ASSERT_TRUE(client.ok());
  v1::RestartServiceRequest request;
  request.mutable_meta()->set_request_id("retry-test-1");
  request.set_name("healthy.service");
  auto first = (*client)->RestartService(request);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string pid_after_first = Show("healthy.service", "MainPID");
  auto second = (*client)->RestartService(request);  // as after a timeout
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Show("healthy.service", "MainPID"),
            pid_after_first);  // not restarted again
  EXPECT_EQ(second->after().main_pid(), first->after().main_pid());
  EXPECT_THAT(ReadFileOrDie(*dir_ + "/agent.log"),
              HasSubstr("replayed restart_service"));
}

}  // namespace
}  // namespace opsagent
