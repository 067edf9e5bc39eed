// Certificate revocation: an agent with a CRL directory refuses a revoked
// operator certificate at the handshake; other certificates still work; and a
// TLS session saved before the revocation cannot be resumed to get past it.

#include <sys/stat.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"
#include "tests/testing/tls_probe.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AgentProcess;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TlsProbe;
using ::testing::HasSubstr;
using ::testing::Not;

// A test CA and an agent for "localhost" that checks client certificates
// against the CRLs in DIR/crl (empty at first), granting oncall everything.
struct RevokingAgent {
  static std::unique_ptr<RevokingAgent> Start(const std::string& dir) {
    auto agent = std::make_unique<RevokingAgent>();
    auto ca = TestCertificateAuthority::Create(dir, "main");
    EXPECT_TRUE(ca.ok()) << ca.status();
    if (!ca.ok()) return nullptr;
    agent->ca = *std::move(ca);
    ::opsagent::testing::CertificateSpec spec{
        "localhost", {}, {"localhost"}, {"127.0.0.1"}};
    spec.server = true;
    auto cert = agent->ca->Issue("agent", spec);
    agent->crls = dir + "/crl";
    mkdir(agent->crls.c_str(), 0755);
    agent->port = ::opsagent::testing::PickFreePort();
    auto process = AgentProcess::Start(
        dir,
        absl::StrCat("listen_address: \"127.0.0.1:", agent->port,
                     "\"\ntls { certificate: \"", cert->certificate,
                     "\" private_key: \"", cert->private_key,
                     "\" ca_certificate: \"", agent->ca->certificate_path(),
                     "\" crl_directory: \"", agent->crls,
                     "\" }\nauthorization { roles: \"oncall\" "
                     "operations: \"*\" }\n"));
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return nullptr;
    agent->process = *std::move(process);
    return agent;
  }

  // Revokes the certificate in `certificate_file` from now on.
  void Revoke(const std::string& certificate_file) {
    ASSERT_TRUE(ca->WriteCrl(crls, {certificate_file}).ok());
  }

  std::unique_ptr<TestCertificateAuthority> ca;
  std::string crls;
  int port = 0;
  std::unique_ptr<AgentProcess> process;
};

TEST(RevocationE2eTest, RevokedOperatorCertificateIsRefused) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  auto agent = RevokingAgent::Start(dir);
  ASSERT_NE(agent, nullptr);
  auto alice = agent->ca->Issue("alice", {"alice", {"oncall"}});
  auto mallory = agent->ca->Issue(
      "mallory", {"mallory", {"oncall"}});  // laptop stolen: revoked
  agent->Revoke(mallory->certificate);

  ::opsagent::testing::OpsctlRunner good(
      dir, "alice", alice->certificate, alice->private_key,
      agent->ca->certificate_path(), "localhost", agent->port);
  CommandResult ok = good.Run({"info", "localhost"});
  EXPECT_EQ(ok.exit_code, 0) << ok.stderr_text;

  ::opsagent::testing::OpsctlRunner revoked(
      dir, "mallory", mallory->certificate, mallory->private_key,
      agent->ca->certificate_path(), "localhost", agent->port);
  const std::string before = agent->process->Log();
  CommandResult refused = revoked.Run({"mem", "localhost"});
  EXPECT_EQ(refused.exit_code, 4) << refused.stderr_text;
  EXPECT_EQ(revoked.AuditRows().back().outcome, AuditOutcome::kUnreachable);
  EXPECT_THAT(agent->process->Log().substr(before.size()),
              Not(HasSubstr("start memory")));
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
    auto mallory = agent->ca->Issue("mallory", {"mallory", {"oncall"}});
    auto probe = TlsProbe::Create(mallory->certificate, mallory->private_key,
                                  agent->ca->certificate_path(), version);
    ASSERT_TRUE(probe.ok()) << probe.status();
    auto before = (*probe)->Connect(agent->port);
    ASSERT_TRUE(before.ok()) << before.status();
    EXPECT_FALSE(before->refused);

    agent->Revoke(mallory->certificate);
    auto after = (*probe)->Connect(agent->port);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_FALSE(after->resumed);
    EXPECT_TRUE(after->refused);
  }
}

}  // namespace
}  // namespace opsagent
