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

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RevocationE2eTest, RevokedOperatorCertificateIsRefused) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  auto ca = ::opsagent::testing::TestCertificateAuthority::Create(dir, "main");
  ASSERT_TRUE(ca.ok());
  ::opsagent::testing::CertificateSpec spec{
      "localhost", {}, {"localhost"}, {"127.0.0.1"}};
  spec.server = true;
  auto agent_cert = (*ca)->Issue("agent", spec);
  auto alice = (*ca)->Issue("alice", {"alice", {"oncall"}});
  auto mallory = (*ca)->Issue(
      "mallory", {"mallory", {"oncall"}});  // laptop stolen: revoked
  const std::string crls = dir + "/crl";
  mkdir(crls.c_str(), 0755);
  ASSERT_TRUE((*ca)->WriteCrl(crls, {mallory->certificate}).ok());
  const int port = ::opsagent::testing::PickFreePort();
  auto agent = ::opsagent::testing::AgentProcess::Start(
      dir,
      absl::StrCat(
          "listen_address: \"127.0.0.1:", port, "\"\ntls { certificate: \"",
          agent_cert->certificate, "\" private_key: \"",
          agent_cert->private_key, "\" ca_certificate: \"",
          (*ca)->certificate_path(), "\" crl_directory: \"", crls,
          "\" }\nauthorization { roles: \"oncall\" operations: \"*\" }\n"));
  ASSERT_TRUE(agent.ok()) << agent.status();

  ::opsagent::testing::OpsctlRunner good(
      dir, "alice", alice->certificate, alice->private_key,
      (*ca)->certificate_path(), "localhost", port);
  CommandResult ok = good.Run({"info", "localhost"});
  EXPECT_EQ(ok.exit_code, 0) << ok.stderr_text;

  ::opsagent::testing::OpsctlRunner revoked(
      dir, "mallory", mallory->certificate, mallory->private_key,
      (*ca)->certificate_path(), "localhost", port);
  const std::string before = (*agent)->Log();
  CommandResult refused = revoked.Run({"mem", "localhost"});
  EXPECT_EQ(refused.exit_code, 4) << refused.stderr_text;
  EXPECT_EQ(revoked.AuditRows().back().outcome, AuditOutcome::kUnreachable);
  EXPECT_THAT((*agent)->Log().substr(before.size()),
              Not(HasSubstr("start memory")));
}

// A resumed TLS session skips the client certificate, so it would skip the
// CRL too: the agent issues no session to resume, in TLS 1.3 or 1.2.
TEST(RevocationE2eTest, ASessionSavedBeforeRevocationCannotBeResumed) {
  using ::opsagent::testing::TlsProbe;
  for (TlsProbe::Version version :
       {TlsProbe::Version::kTls13, TlsProbe::Version::kTls12}) {
    SCOPED_TRACE(version == TlsProbe::Version::kTls13 ? "TLS 1.3" : "TLS 1.2");
    const std::string dir =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/resume",
                     version == TlsProbe::Version::kTls13 ? "13" : "12");
    mkdir(dir.c_str(), 0755);
    auto ca = ::opsagent::testing::TestCertificateAuthority::Create(dir, "ca");
    ASSERT_TRUE(ca.ok());
    ::opsagent::testing::CertificateSpec spec{
        "localhost", {}, {"localhost"}, {"127.0.0.1"}};
    spec.server = true;
    auto agent_cert = (*ca)->Issue("agent", spec);
    auto mallory = (*ca)->Issue("mallory", {"mallory", {"oncall"}});
    const std::string crls = dir + "/crl";
    mkdir(crls.c_str(), 0755);  // empty: nobody revoked yet
    const int port = ::opsagent::testing::PickFreePort();
    auto agent = ::opsagent::testing::AgentProcess::Start(
        dir,
        absl::StrCat(
            "listen_address: \"127.0.0.1:", port, "\"\ntls { certificate: \"",
            agent_cert->certificate, "\" private_key: \"",
            agent_cert->private_key, "\" ca_certificate: \"",
            (*ca)->certificate_path(), "\" crl_directory: \"", crls,
            "\" }\nauthorization { roles: \"oncall\" operations: \"*\" }\n"));
    ASSERT_TRUE(agent.ok()) << agent.status();

    auto probe = TlsProbe::Create(mallory->certificate, mallory->private_key,
                                  (*ca)->certificate_path(), version);
    ASSERT_TRUE(probe.ok()) << probe.status();
    auto before = (*probe)->Connect(port);
    ASSERT_TRUE(before.ok()) << before.status();
    EXPECT_FALSE(before->refused);

    ASSERT_TRUE((*ca)->WriteCrl(crls, {mallory->certificate}).ok());
    auto after = (*probe)->Connect(port);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_FALSE(after->resumed);
    EXPECT_TRUE(after->refused);
  }
}

}  // namespace
}  // namespace opsagent
