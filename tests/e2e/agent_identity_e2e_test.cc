// opsctl accepts a peer as a host only by a host certificate for that host:
// extended key usage serverAuth and a DNS subjectAltName naming it. A
// certificate that names the host only in its CN, one made for clients, one
// with no extended key usage, or an operator's certificate whose CN is the
// host name, are all refused in the handshake, with the reason. The peer
// here is a plain gRPC TLS server presenting each certificate: the part of a
// hostile host that the test plays.

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::CertificateSpec;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestCertificateAuthority;
using ::testing::HasSubstr;

// Something to serve; the handshake is what is under test.
class Health final : public grpc::health::v1::Health::Service {};

// A TLS server on 127.0.0.1 presenting `cert`, asking nothing of clients.
std::unique_ptr<grpc::Server> ServeWith(const CertificateFiles& cert,
                                        int* port) {
  static Health* health = new Health();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back(
      {ReadFileOrDie(cert.private_key), ReadFileOrDie(cert.certificate)});
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options),
                           port);
  builder.RegisterService(health);
  return builder.BuildAndStart();
}

TEST(AgentIdentityE2eTest, OnlyAHostCertificateForTheHostIsAccepted) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  auto ca = TestCertificateAuthority::Create(dir, "main");
  ASSERT_TRUE(ca.ok());
  auto alice = (*ca)->Issue("alice", {"alice", {"oncall"}});
  ASSERT_TRUE(alice.ok());

  struct Case {
    std::string what;
    CertificateSpec spec;
    std::string refused_because;
  };
  CertificateSpec cn_only{"localhost"};
  cn_only.extended_key_usage = "serverAuth";
  CertificateSpec client_only{"localhost", {}, {"localhost"}};
  client_only.extended_key_usage = "clientAuth";
  CertificateSpec no_usage{"localhost", {}, {"localhost"}};
  no_usage.extended_key_usage = "";
  CertificateSpec operator_named_like_the_host{"localhost", {"oncall"}};
  CertificateSpec other_host{"salt-qa", {}, {"salt-qa"}};
  other_host.server = true;
  const std::vector<Case> cases = {
      {"the host only in the CN", cn_only, "has no DNS subjectAltName"},
      // OpenSSL's own purpose check refuses a client certificate first.
      {"a client certificate", client_only, "certificate verify failed"},
      {"no extended key usage", no_usage, "is not a host certificate"},
      {"an operator named like the host", operator_named_like_the_host,
       "certificate verify failed"},
      {"another host's certificate", other_host, "names other hosts"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto cert = (*ca)->Issue(absl::StrCat("peer", &c - cases.data()), c.spec);
    ASSERT_TRUE(cert.ok()) << cert.status();
    int port = 0;
    std::unique_ptr<grpc::Server> server = ServeWith(*cert, &port);
    ASSERT_NE(server, nullptr);
    OpsctlRunner opsctl(dir, "alice", alice->certificate, alice->private_key,
                        (*ca)->certificate_path(), "localhost", port);
    ProgramResult r = opsctl.Run({"info", "localhost"});
    EXPECT_EQ(r.exit_code, 4) << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr(c.refused_because));
    server->Shutdown();
  }
}

}  // namespace
}  // namespace opsagent
