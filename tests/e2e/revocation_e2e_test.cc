// Certificate revocation: an agent with a CRL directory refuses a revoked
// operator certificate at the handshake; other certificates still work.

#include <sys/stat.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

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

}  // namespace
}  // namespace opsagent
