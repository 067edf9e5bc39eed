// Signed requests on real keys and certificates (ECDSA P-256, as the dev PKI
// and the test CA issue them): what the agent accepts and every way a
// controller could change one.

#include "common/signing/signed_request.h"

#include <cstdlib>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestCertificateAuthority;
using ::testing::HasSubstr;

class SignedRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca =
        TestCertificateAuthority::Create(std::getenv("TEST_TMPDIR"), "signing");
    ASSERT_TRUE(ca.ok());
    ca_ = *std::move(ca);
    auto alice = ca_->Issue("alice", {"alice", {"oncall"}});
    auto bob = ca_->Issue("bob", {"bob", {"oncall"}});
    ASSERT_TRUE(alice.ok() && bob.ok());
    alice_ = *alice;
    bob_ = *bob;
    auto signer =
        RequestSigner::FromFiles(alice_.certificate, alice_.private_key);
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = *std::move(signer);
    envelope_.set_request_id("r-1");
    envelope_.set_operation("truncate_log");
    envelope_.set_request("request bytes");
    envelope_.set_target_host("xq-1");
  }

  absl::StatusOr<v1::RequestEnvelope> Open(
      const v1::SignedRequest& signed_request, absl::Time now = absl::Now()) {
    return OpenSignedRequest(signed_request, ReadFileOrDie(alice_.certificate),
                             now);
  }

  std::unique_ptr<TestCertificateAuthority> ca_;
  CertificateFiles alice_, bob_;
  std::unique_ptr<RequestSigner> signer_;
  v1::RequestEnvelope envelope_;
};

TEST_F(SignedRequestTest, ASignedRequestOpensToWhatWasSigned) {
  const absl::Time now = absl::Now();
  auto signed_request = signer_->Sign(envelope_, now);
  ASSERT_TRUE(signed_request.ok());
  auto opened = Open(*signed_request, now + absl::Seconds(59));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->request(), "request bytes");
  EXPECT_EQ(opened->target_host(), "xq-1");
  EXPECT_EQ(opened->nonce().size(), 16u);
  EXPECT_EQ(opened->expires_at_unix_ms() - opened->issued_at_unix_ms(), 60000);
  // Each signature gets its own nonce.
  auto second = signer_->Sign(envelope_, now);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(Open(*second)->nonce(), opened->nonce());
}

TEST_F(SignedRequestTest, AnyChangedByteBreaksTheSignature) {
  auto signed_request = signer_->Sign(envelope_, absl::Now());
  ASSERT_TRUE(signed_request.ok());
  for (size_t i = 0; i < signed_request->envelope().size(); ++i) {
    v1::SignedRequest altered = *signed_request;
    (*altered.mutable_envelope())[i] ^= 0x01;
    EXPECT_FALSE(Open(altered).ok()) << "byte " << i;
  }
  v1::SignedRequest unsigned_request = *signed_request;
  unsigned_request.clear_signature();
  EXPECT_THAT(Open(unsigned_request).status().message(),
              HasSubstr("not signed"));
}

TEST_F(SignedRequestTest, AnotherOperatorsCertificateDoesNotOpenIt) {
  auto signed_request = signer_->Sign(envelope_, absl::Now());
  ASSERT_TRUE(signed_request.ok());
  auto opened = OpenSignedRequest(*signed_request,
                                  ReadFileOrDie(bob_.certificate), absl::Now());
  EXPECT_THAT(opened.status().message(),
              HasSubstr("another operator certificate"));
  EXPECT_FALSE(OpenSignedRequest(*signed_request, "garbage", absl::Now()).ok());
}

TEST_F(SignedRequestTest, OnlyCurrentRequestsOpen) {
  const absl::Time now = absl::Now();
  auto signed_request = signer_->Sign(envelope_, now);
  ASSERT_TRUE(signed_request.ok());
  EXPECT_THAT(Open(*signed_request, now + absl::Seconds(60)).status().message(),
              HasSubstr("expired"));
  EXPECT_TRUE(Open(*signed_request, now - absl::Seconds(29)).ok());
  EXPECT_THAT(Open(*signed_request, now - absl::Seconds(31)).status().message(),
              HasSubstr("in the future"));
  // A lifetime asked for beyond the limit is cut to it.
  auto long_lived = signer_->Sign(envelope_, now, absl::Hours(1));
  ASSERT_TRUE(long_lived.ok());
  EXPECT_EQ(Open(*long_lived)->expires_at_unix_ms(),
            absl::ToUnixMillis(now + absl::Seconds(60)));
}

TEST_F(SignedRequestTest, AKeyThatIsNotTheCertificatesIsRefused) {
  auto mixed = RequestSigner::FromFiles(alice_.certificate, bob_.private_key);
  EXPECT_THAT(mixed.status().message(), HasSubstr("does not belong"));
  EXPECT_FALSE(
      RequestSigner::FromFiles(alice_.certificate, "/nonexistent").ok());
}

}  // namespace
}  // namespace opsagent
