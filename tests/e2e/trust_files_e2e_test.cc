// Trust files anyone can change are refused. The real agent will not start
// on a CA, key, CRL directory, configuration, journal or program that others
// could write (or, for a key, read), naming the file and the fix; and while
// it runs, a trust file that becomes writable by others is not reloaded: an
// unprivileged user who adds their own CA to ca.crt gets nothing served.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

namespace fs = std::filesystem;
using ::opsagent::testing::AgentProcess;
using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

class TrustFilesE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::getenv("TEST_TMPDIR");
    tls_ = dir_ + "/tls";
    fs::create_directories(tls_);
    auto ca = TestCertificateAuthority::Create(tls_, "main");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *std::move(ca);
    ::opsagent::testing::CertificateSpec spec{
        "localhost", {}, {"localhost"}, {"127.0.0.1"}};
    spec.server = true;
    auto agent = ca_->Issue("agent", spec);
    auto alice = ca_->Issue("alice", {"alice", {"oncall"}});
    ASSERT_TRUE(agent.ok() && alice.ok());
    agent_cert_ = *agent;
    alice_ = *alice;
    fs::create_directories(dir_ + "/crl");
    ASSERT_TRUE(ca_->WriteCrl(dir_ + "/crl", {}).ok());
    fs::create_directories(dir_ + "/state");
    fs::copy_file("/bin/true", dir_ + "/state/tool",
                  fs::copy_options::overwrite_existing);
  }

  std::string Config() const {
    return absl::StrCat(
        "listen_address: \"127.0.0.1:", port_, "\"\ntls { certificate: \"",
        agent_cert_.certificate, "\" private_key: \"", agent_cert_.private_key,
        "\" ca_certificate: \"", ca_->certificate_path(),
        "\" crl_directory: \"", dir_, "/crl\" refresh_interval_seconds: 1 }\n",
        "journal_path: \"", dir_, "/state/journal.jsonl\"\n",
        "command { name: \"tool\" argv: \"", dir_, "/state/tool\" }\n",
        "authorization { roles: \"oncall\" operations: \"*\" }\n");
  }

  ProgramResult CheckConfig() const {
    absl::StatusOr<ProgramResult> run =
        RunProgram({"agent/opsagent", "--config", dir_ + "/agent.textproto",
                    "--check_config"},
                   absl::Seconds(30));
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : ProgramResult{-1};
  }

  std::string dir_;
  std::string tls_;
  std::unique_ptr<TestCertificateAuthority> ca_;
  CertificateFiles agent_cert_;
  CertificateFiles alice_;
  int port_ = 0;
};

TEST_F(TrustFilesE2eTest, TheAgentRefusesToStartOnTrustFilesOthersCanChange) {
  struct Case {
    std::string what;
    std::string path;
    mode_t loose;
    std::string said;
  };
  const std::vector<Case> cases = {
      {"CA bundle", ca_->certificate_path(), 0666, "is writable by others"},
      {"agent certificate", agent_cert_.certificate, 0664,
       "is writable by its group"},
      {"private key", agent_cert_.private_key, 0644,
       "private key readable by others"},
      {"directory of the TLS files", tls_, 0777, "is writable by others"},
      {"CRL directory", dir_ + "/crl", 0777, "is writable by others"},
      {"journal directory", dir_ + "/state", 0777, "is writable by others"},
      {"vetted command's program", dir_ + "/state/tool", 0757,
       "is writable by others"},
      {"configuration", dir_ + "/agent.textproto", 0666,
       "is writable by others"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    WriteFileOrDie(dir_ + "/agent.textproto", Config());
    struct stat st;
    ASSERT_EQ(stat(c.path.c_str(), &st), 0) << c.path;
    ASSERT_EQ(chmod(c.path.c_str(), c.loose), 0);
    ProgramResult check = CheckConfig();
    ASSERT_EQ(chmod(c.path.c_str(), st.st_mode & 07777), 0);
    EXPECT_EQ(check.exit_code, 2) << check.stderr_text;
    EXPECT_THAT(check.stderr_text, HasSubstr(c.path));
    EXPECT_THAT(check.stderr_text, HasSubstr(c.said));
    EXPECT_THAT(check.stderr_text, HasSubstr("chmod"));
  }
  // With every mode tight again, the same configuration is fine.
  WriteFileOrDie(dir_ + "/agent.textproto", Config());
  ProgramResult check = CheckConfig();
  EXPECT_EQ(check.exit_code, 0) << check.stderr_text;
}

// The journal is opened with O_NOFOLLOW at the start; --check_config
// refuses a journal_path that is a link (even to a good file) or a FIFO
// too, rather than pass what the start then refuses.
TEST_F(TrustFilesE2eTest, AJournalPathThatIsNotARegularFileIsRefusedAtCheck) {
  const std::string journal = dir_ + "/state/journal.jsonl";
  const std::string elsewhere = dir_ + "/state/elsewhere.jsonl";
  WriteFileOrDie(dir_ + "/agent.textproto", Config());
  WriteFileOrDie(elsewhere, "");
  for (const bool fifo : {false, true}) {
    SCOPED_TRACE(fifo ? "fifo" : "link");
    unlink(journal.c_str());
    ASSERT_EQ(fifo ? mkfifo(journal.c_str(), 0600)
                   : symlink(elsewhere.c_str(), journal.c_str()),
              0);
    ProgramResult check = CheckConfig();
    EXPECT_EQ(check.exit_code, 2) << check.stderr_text;
    EXPECT_THAT(check.stderr_text, HasSubstr("journal_path"));
    EXPECT_THAT(check.stderr_text, HasSubstr("not a regular file"));
  }
  unlink(journal.c_str());
  ProgramResult check = CheckConfig();
  EXPECT_EQ(check.exit_code, 0) << check.stderr_text;
}

// `opsagent --config agent.textproto` from the directory that holds it, as
// an administrator types it: the path is taken from the working directory
// (and checked like any other), not refused for being relative.
TEST_F(TrustFilesE2eTest, ARelativeConfigPathIsTakenFromTheWorkingDirectory) {
  WriteFileOrDie(dir_ + "/agent.textproto", Config());
  const std::string relative =
      fs::relative(dir_ + "/agent.textproto", fs::current_path()).string();
  ASSERT_NE(relative.front(), '/');
  absl::StatusOr<ProgramResult> check =
      RunProgram({"agent/opsagent", "--config", relative, "--check_config"},
                 absl::Seconds(30));
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->exit_code, 0) << check->stderr_text;
  EXPECT_THAT(check->stdout_text,
              HasSubstr(fs::current_path().string() + "/" + relative + ": OK"));
  // Still checked: loose, it is refused under its full name.
  ASSERT_EQ(chmod((dir_ + "/agent.textproto").c_str(), 0666), 0);
  check = RunProgram({"agent/opsagent", "--config", relative, "--check_config"},
                     absl::Seconds(30));
  ASSERT_EQ(chmod((dir_ + "/agent.textproto").c_str(), 0600), 0);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->exit_code, 2);
  EXPECT_THAT(check->stderr_text, HasSubstr("is writable by others"));
}

TEST_F(TrustFilesE2eTest, ACaBundleOthersCanWriteIsNotReloadedWhileRunning) {
  auto agent = AgentProcess::Start(dir_, Config());  // on port 0
  ASSERT_TRUE(agent.ok()) << agent.status();
  port_ = (*agent)->port();
  // opsctl keeps its own copy of the CA (it would refuse the loose one too).
  fs::copy_file(ca_->certificate_path(), dir_ + "/opsctl-ca.crt");
  OpsctlRunner alice(dir_, "alice", alice_.certificate, alice_.private_key,
                     dir_ + "/opsctl-ca.crt", "localhost", port_);
  ASSERT_EQ(alice.Run({"info", "localhost"}).exit_code, 0);

  // A local user who can write ca.crt appends a CA of their own, and an
  // "oncall" certificate from it, with a CRL for it too.
  fs::create_directories(dir_ + "/evil");
  auto evil_ca = TestCertificateAuthority::Create(dir_ + "/evil", "evil");
  ASSERT_TRUE(evil_ca.ok());
  auto mallory = (*evil_ca)->Issue("mallory", {"mallory", {"oncall"}});
  ASSERT_TRUE(mallory.ok());
  ASSERT_TRUE((*evil_ca)->WriteCrl(dir_ + "/crl", {}).ok());
  const std::string good_bundle = ReadFileOrDie(ca_->certificate_path());
  chmod(ca_->certificate_path().c_str(), 0666);
  WriteFileOrDie(ca_->certificate_path(),
                 good_bundle + ReadFileOrDie((*evil_ca)->certificate_path()));
  absl::SleepFor(absl::Seconds(3));  // three refresh intervals

  OpsctlRunner as_mallory(dir_, "mallory", mallory->certificate,
                          mallory->private_key, (*evil_ca)->certificate_path(),
                          "localhost", port_);
  ProgramResult refused = as_mallory.Run({"mem", "localhost"});
  EXPECT_EQ(refused.exit_code, 4) << refused.stderr_text;
  const std::string log = (*agent)->Log();
  EXPECT_THAT(log, HasSubstr("refusing a TLS file"));
  EXPECT_THAT(log,
              HasSubstr(ca_->certificate_path() + " is writable by others"));
  EXPECT_THAT(log, Not(HasSubstr("start memory by mallory")));
  // The last good bundle is still in use: alice is served.
  EXPECT_EQ(alice.Run({"info", "localhost"}).exit_code, 0);

  // Put right by an administrator: the good bundle, a tight mode.
  WriteFileOrDie(ca_->certificate_path(), good_bundle);
  chmod(ca_->certificate_path().c_str(), 0644);
  absl::SleepFor(absl::Seconds(3));
  EXPECT_THAT((*agent)->Log(), HasSubstr("every file passes its checks again"));
  EXPECT_EQ(alice.Run({"info", "localhost"}).exit_code, 0);
}

}  // namespace
}  // namespace opsagent
