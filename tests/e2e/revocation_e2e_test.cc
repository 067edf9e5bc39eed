// Certificate revocation, which fails closed: an agent with a CRL directory
// serves a client only if the CA that issued its certificate has a current
// CRL there that does not list it. A revoked operator is refused at the
// handshake while others work; a missing, unreadable, foreign or expired CRL
// refuses every client of that CA; a CRL written over the old one applies to
// new connections within the refresh interval; and a TLS session saved
// before the revocation cannot be resumed to get past it.

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_pki.h"
#include "tests/testing/tls_probe.h"

namespace opsagent {
namespace {

namespace fs = std::filesystem;
using ::opsagent::testing::AgentProcess;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TlsProbe;
using ::testing::HasSubstr;
using ::testing::Not;

// A TestAgent for "localhost" that checks client certificates against the
// CRLs in DIR/crl, re-read every second. `prepare_crls` fills the CRL
// directory before the agent starts (by default: a current CRL revoking
// nobody).
struct RevokingAgent {
  static std::unique_ptr<RevokingAgent> Start(
      const std::string& dir,
      const std::function<void(RevokingAgent&)>& prepare_crls = nullptr) {
    auto agent = std::make_unique<RevokingAgent>();
    agent->dir = dir;
    agent->crls = dir + "/crl";
    mkdir(agent->crls.c_str(), 0755);
    TestAgent::Options options;
    options.dir = dir;
    options.tls_config = absl::StrCat("crl_directory: \"", agent->crls,
                                      "\" refresh_interval_seconds: 1");
    options.before_start = [&](TestAgent& started) {
      agent->base_ = &started;
      if (prepare_crls) {
        prepare_crls(*agent);
      } else {
        agent->Revoke({});
      }
    };
    absl::StatusOr<std::unique_ptr<TestAgent>> started =
        TestAgent::Start(options);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return nullptr;
    agent->owned_ = *std::move(started);
    return agent;
  }

  TestCertificateAuthority* ca() const { return base_->ca.get(); }
  const ::opsagent::testing::CertificateFiles& alice() const {
    return base_->oncall;
  }
  int port() const { return base_->port; }
  AgentProcess* process() const { return base_->process.get(); }

  // Writes a current CRL revoking `certificate_files` (and nothing else).
  void Revoke(const std::vector<std::string>& certificate_files) {
    ASSERT_TRUE(ca()->WriteCrl(crls, certificate_files).ok());
  }

  OpsctlRunner Opsctl(const std::string& name,
                      const ::opsagent::testing::CertificateFiles& files) {
    return OpsctlRunner(dir, name, files.certificate, files.private_key,
                        ca()->certificate_path(), "localhost", port());
  }

  // Runs `opsctl info` as the operator until `served` is what happens, for
  // at most a few refresh intervals; returns whether it did.
  bool Eventually(OpsctlRunner& opsctl, bool served) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      if ((opsctl.Run({"info", "localhost"}).exit_code == 0) == served)
        return true;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  }

  std::string dir;
  std::string crls;

 private:
  TestAgent* base_ = nullptr;  // set before the agent starts
  std::unique_ptr<TestAgent> owned_;
};

TEST(RevocationE2eTest, RevokedOperatorCertificateIsRefused) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  std::unique_ptr<TestCertificateAuthority> ca_for_mallory;
  ::opsagent::testing::CertificateFiles mallory;
  auto agent = RevokingAgent::Start(dir, [&](RevokingAgent& agent) {
    auto issued = agent.ca()->Issue("mallory", {"mallory", {"oncall"}});
    ASSERT_TRUE(issued.ok());
    mallory = *issued;  // laptop stolen: revoked
    agent.Revoke({mallory.certificate});
  });
  ASSERT_NE(agent, nullptr);

  OpsctlRunner good = agent->Opsctl("alice", agent->alice());
  ProgramResult ok = good.Run({"info", "localhost"});
  EXPECT_EQ(ok.exit_code, 0) << ok.stderr_text;

  OpsctlRunner revoked = agent->Opsctl("mallory", mallory);
  const std::string before = agent->process()->Log();
  ProgramResult refused = revoked.Run({"mem", "localhost"});
  EXPECT_EQ(refused.exit_code, 4) << refused.stderr_text;
  EXPECT_EQ(revoked.AuditRows().back().outcome(), v1::OUTCOME_UNREACHABLE);
  const std::string log = agent->process()->Log().substr(before.size());
  EXPECT_THAT(log, Not(HasSubstr("start memory")));
  EXPECT_THAT(log, HasSubstr("revoked by its CA's CRL"));
}

// Every way of having no current CRL for the CA refuses its clients, and
// the log says why; a current CRL put back serves them again.
TEST(RevocationE2eTest, ACaWithoutACurrentCrlServesNobodyAndTheLogSaysWhy) {
  struct Case {
    std::string name;
    std::function<void(RevokingAgent&)> crls;
    std::string logged;
  };
  const std::vector<Case> cases = {
      {"empty directory", [](RevokingAgent&) {}, "NO CRL"},
      {"a file that is not a CRL",
       [](RevokingAgent& agent) {
         ::opsagent::testing::WriteFileOrDie(agent.crls + "/garbage.r0",
                                             "not a CRL\n");
       },
       "holds no CRL"},
      {"a CRL past its nextUpdate",
       [](RevokingAgent& agent) {
         ASSERT_TRUE(
             agent.ca()->WriteCrl(agent.crls, {}, -absl::Minutes(5)).ok());
       },
       "past its nextUpdate"},
      {"a CRL of another CA",
       [](RevokingAgent& agent) {
         auto other =
             TestCertificateAuthority::Create(agent.dir + "/other", "other");
         ASSERT_TRUE(other.ok());
         ASSERT_TRUE((*other)->WriteCrl(agent.crls, {}).ok());
       },
       "that no CA of the bundle signed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string dir =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/", &c - cases.data());
    fs::create_directories(dir + "/other");
    auto agent = RevokingAgent::Start(dir, c.crls);
    ASSERT_NE(agent, nullptr);
    OpsctlRunner alice = agent->Opsctl("alice", agent->alice());
    ProgramResult refused = alice.Run({"mem", "localhost"});
    EXPECT_EQ(refused.exit_code, 4) << refused.stderr_text;
    const std::string log = agent->process()->Log();
    EXPECT_THAT(log, HasSubstr(c.logged));
    EXPECT_THAT(log, HasSubstr("revocation fails closed"));
    EXPECT_THAT(log, Not(HasSubstr("start memory")));
    agent->Revoke({});  // a current CRL arrives
    EXPECT_TRUE(agent->Eventually(alice, /*served=*/true));
  }
}

TEST(RevocationE2eTest, ACrlDirectoryRemovedWhileRunningRefusesEveryone) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  auto agent = RevokingAgent::Start(dir);
  ASSERT_NE(agent, nullptr);
  OpsctlRunner alice = agent->Opsctl("alice", agent->alice());
  EXPECT_EQ(alice.Run({"info", "localhost"}).exit_code, 0);
  fs::remove_all(agent->crls);
  EXPECT_TRUE(agent->Eventually(alice, /*served=*/false));
  EXPECT_THAT(agent->process()->Log(), HasSubstr("every client is refused"));
  mkdir(agent->crls.c_str(), 0755);
  agent->Revoke({});
  EXPECT_TRUE(agent->Eventually(alice, /*served=*/true));
}

// `openssl rehash` names a CRL <hash>.r0; a newer one written over it, by
// rename or in place, is what new connections are checked against within
// the refresh interval.
TEST(RevocationE2eTest,
     ACrlWrittenOverTheOldOneAppliesWithinTheRefreshInterval) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  auto agent = RevokingAgent::Start(dir);
  ASSERT_NE(agent, nullptr);
  auto mallory = agent->ca()->Issue("mallory", {"mallory", {"oncall"}});
  auto bob = agent->ca()->Issue("bob", {"bob", {"oncall"}});
  ASSERT_TRUE(mallory.ok() && bob.ok());
  OpsctlRunner as_mallory = agent->Opsctl("mallory", *mallory);
  OpsctlRunner as_bob = agent->Opsctl("bob", *bob);
  OpsctlRunner as_alice = agent->Opsctl("alice", agent->alice());
  EXPECT_EQ(as_mallory.Run({"info", "localhost"}).exit_code, 0);
  EXPECT_EQ(as_bob.Run({"info", "localhost"}).exit_code, 0);

  // Renamed over <hash>.r0 (what a distribution job does).
  agent->Revoke({mallory->certificate});
  EXPECT_TRUE(agent->Eventually(as_mallory, /*served=*/false));
  EXPECT_EQ(as_alice.Run({"info", "localhost"}).exit_code, 0);

  // Overwritten in place (same inode), which OpenSSL's directory lookup
  // never notices once it has cached the first version.
  fs::create_directories(dir + "/staging");
  auto path = agent->ca()->WriteCrl(dir + "/staging",
                                    {mallory->certificate, bob->certificate});
  ASSERT_TRUE(path.ok()) << path.status();
  const std::string target =
      agent->crls + "/" + fs::path(*path).filename().string();
  struct stat st_before, st_after;
  ASSERT_EQ(stat(target.c_str(), &st_before), 0);
  ::opsagent::testing::WriteFileOrDie(
      target, ::opsagent::testing::ReadFileOrDie(*path));
  ASSERT_EQ(stat(target.c_str(), &st_after), 0);
  EXPECT_EQ(st_before.st_ino, st_after.st_ino);
  EXPECT_TRUE(agent->Eventually(as_bob, /*served=*/false));
  EXPECT_EQ(as_alice.Run({"info", "localhost"}).exit_code, 0);
}

// A resumed TLS session skips the client certificate, so it would skip the
// CRL too: the agent issues no session to resume, in TLS 1.3 or 1.2.
TEST(RevocationE2eTest, ASessionSavedBeforeRevocationCannotBeResumed) {
  for (TlsProbe::Version version :
       {TlsProbe::Version::kTls13, TlsProbe::Version::kTls12}) {
    const bool tls13 = version == TlsProbe::Version::kTls13;
    SCOPED_TRACE(tls13 ? "TLS 1.3" : "TLS 1.2");
    const std::string dir =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/tls", tls13 ? "13" : "12");
    mkdir(dir.c_str(), 0755);
    auto agent = RevokingAgent::Start(dir);
    ASSERT_NE(agent, nullptr);
    auto mallory = agent->ca()->Issue("mallory", {"mallory", {"oncall"}});
    auto probe = TlsProbe::Create(mallory->certificate, mallory->private_key,
                                  agent->ca()->certificate_path(), version);
    ASSERT_TRUE(probe.ok()) << probe.status();
    auto before = (*probe)->Connect(agent->port());
    ASSERT_TRUE(before.ok()) << before.status();
    EXPECT_FALSE(before->refused);

    agent->Revoke({mallory->certificate});
    absl::SleepFor(absl::Seconds(2));  // past the refresh interval
    auto after = (*probe)->Connect(agent->port());
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_FALSE(after->resumed);
    EXPECT_TRUE(after->refused);
  }
}

}  // namespace
}  // namespace opsagent
