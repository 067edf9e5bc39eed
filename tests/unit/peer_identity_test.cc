#include "common/tls/peer_identity.h"

#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::ReadFileOrDie;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PeerIdentityReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = ::opsagent::testing::TestCertificateAuthority::Create(
        std::getenv("TEST_TMPDIR"), "ca");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *std::move(ca);
  }
  std::string IssuePem(const std::string& name,
                       std::vector<std::string> roles) {
    auto files = ca_->Issue(name, {name, std::move(roles)});
    EXPECT_TRUE(files.ok()) << files.status();
    return ReadFileOrDie(files->certificate);
  }
  std::unique_ptr<::opsagent::testing::TestCertificateAuthority> ca_;
};

TEST_F(PeerIdentityReaderTest, NamesTheCommonNameAndRoles) {
  PeerIdentityReader reader;
  auto alice = reader.FromPem(IssuePem("alice", {"oncall", "dba"}));
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->name, "alice");
  EXPECT_THAT(alice->roles, ElementsAre("oncall", "dba"));
  EXPECT_EQ(alice->ToString(), "alice (oncall,dba)");
}

TEST_F(PeerIdentityReaderTest, RemembersEachCertificateApart) {
  PeerIdentityReader reader(/*capacity=*/2);
  const std::string alice = IssuePem("alice", {"oncall"});
  const std::string bob = IssuePem("bob", {"viewer"});
  const std::string carol = IssuePem("carol", {});
  // Read each several times, more certificates than the reader keeps.
  for (int round = 0; round < 3; ++round) {
    for (const auto& [pem, name] :
         {std::pair{alice, "alice"}, {bob, "bob"}, {carol, "carol"}}) {
      auto identity = reader.FromPem(pem);
      ASSERT_TRUE(identity.ok()) << identity.status();
      EXPECT_EQ(identity->name, name);
    }
  }
  auto bob_again = reader.FromPem(bob);
  ASSERT_TRUE(bob_again.ok());
  EXPECT_THAT(bob_again->roles, ElementsAre("viewer"));
}

TEST_F(PeerIdentityReaderTest, RefusesWhatIsNotACertificateEveryTime) {
  PeerIdentityReader reader;
  for (int i = 0; i < 2; ++i) {
    auto garbage = reader.FromPem("-----BEGIN CERTIFICATE-----\nAAAA\n");
    EXPECT_EQ(garbage.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(garbage.status().message(),
                HasSubstr("the caller's certificate cannot be read"));
  }
  auto nameless = reader.FromPem(IssuePem("", {"oncall"}));
  EXPECT_EQ(nameless.status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace opsagent
