// The agent verifies an operator's certificate once and reuses the answer
// for later relayed calls; these tests prove that reusing it lets nothing
// through that a fresh check would refuse: a CRL loaded after the
// certificate was cached revokes it at the next call, and a certificate is
// refused once it has expired, cached or not.

#include "agent/server/operator_certificate_cache.h"

#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestCertificateAuthority;
using ::testing::HasSubstr;

class OperatorCertificateCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
    crls_ = dir_ + "/crl";
    ASSERT_EQ(mkdir(crls_.c_str(), 0755), 0);
    auto ca = TestCertificateAuthority::Create(dir_, "ca");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *std::move(ca);
    ::opsagent::testing::CertificateSpec agent{"localhost"};
    agent.dns_names = {"localhost"};
    agent.server = true;
    auto files = ca_->Issue("agent", agent);
    ASSERT_TRUE(files.ok()) << files.status();
    agent_ = *files;
    ASSERT_TRUE(ca_->WriteCrl(crls_, {}).ok());
  }

  // The agent's trust with the CRL directory, refreshed only when a test
  // says so.
  std::unique_ptr<ServerTrust> Trust() {
    TlsFiles files{agent_.certificate, agent_.private_key,
                   ca_->certificate_path(), /*refresh_interval_seconds=*/3600,
                   crls_};
    auto trust = ServerTrust::Create(files);
    EXPECT_TRUE(trust.ok()) << trust.status();
    return trust.ok() ? *std::move(trust) : nullptr;
  }

  ::opsagent::testing::CertificateFiles Operator(
      const std::string& name, absl::Duration not_after_from_now) {
    ::opsagent::testing::CertificateSpec spec{name, {"oncall"}};
    spec.not_after_from_now = not_after_from_now;
    auto files = ca_->Issue(name, spec);
    EXPECT_TRUE(files.ok()) << files.status();
    return *files;
  }

  std::string dir_;
  std::string crls_;
  std::unique_ptr<TestCertificateAuthority> ca_;
  ::opsagent::testing::CertificateFiles agent_;
};

TEST_F(OperatorCertificateCacheTest, VerifiesOnceAndReusesTheAnswer) {
  std::unique_ptr<ServerTrust> trust = Trust();
  ASSERT_NE(trust, nullptr);
  OperatorCertificateCache cache(*trust);
  const std::string alice =
      ReadFileOrDie(Operator("alice", absl::Hours(24)).certificate);
  const absl::Time now = absl::Now();
  auto first = cache.Verify(alice, now);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)->identity().ToString(), "alice (oncall)");
  EXPECT_EQ((*first)->certificate_sha256().size(), 32u);
  EXPECT_NE((*first)->public_key(), nullptr);
  EXPECT_LE((*first)->valid_until(), now + absl::Hours(24));
  auto second = cache.Verify(alice, now + absl::Seconds(1));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->get(), first->get());  // the same parsed certificate
}

TEST_F(OperatorCertificateCacheTest,
       ACrlLoadedAfterCachingRevokesAtTheNextCall) {
  std::unique_ptr<ServerTrust> trust = Trust();
  ASSERT_NE(trust, nullptr);
  OperatorCertificateCache cache(*trust);
  const auto mallory = Operator("mallory", absl::Hours(24));
  const std::string pem = ReadFileOrDie(mallory.certificate);
  ASSERT_TRUE(cache.Verify(pem, absl::Now()).ok());
  ASSERT_TRUE(cache.Verify(pem, absl::Now()).ok());  // now cached

  ASSERT_TRUE(ca_->WriteCrl(crls_, {mallory.certificate}).ok());
  ASSERT_TRUE(trust->Refresh().ok());
  auto refused = cache.Verify(pem, absl::Now());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.status().message(), HasSubstr("revoked"));
  // And it stays refused.
  EXPECT_FALSE(cache.Verify(pem, absl::Now()).ok());
}

TEST_F(OperatorCertificateCacheTest,
       AnExpiredCertificateIsRefusedThoughCached) {
  std::unique_ptr<ServerTrust> trust = Trust();
  ASSERT_NE(trust, nullptr);
  OperatorCertificateCache cache(*trust);
  const std::string pem =
      ReadFileOrDie(Operator("alice", absl::Hours(1)).certificate);
  const absl::Time now = absl::Now();
  ASSERT_TRUE(cache.Verify(pem, now).ok());
  ASSERT_TRUE(cache.Verify(pem, now + absl::Minutes(30)).ok());
  auto expired = cache.Verify(pem, now + absl::Hours(2));
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(expired.status().message(), HasSubstr("expired"));
}

TEST_F(OperatorCertificateCacheTest, ACrlPastItsNextUpdateEndsWhatWasCached) {
  // Revocation fails closed: once the CRL is stale, a cached answer is not
  // kept past it either.
  ASSERT_TRUE(ca_->WriteCrl(crls_, {}, absl::Hours(1)).ok());
  std::unique_ptr<ServerTrust> trust = Trust();
  ASSERT_NE(trust, nullptr);
  OperatorCertificateCache cache(*trust);
  const std::string pem =
      ReadFileOrDie(Operator("alice", absl::Hours(24)).certificate);
  const absl::Time now = absl::Now();
  auto verified = cache.Verify(pem, now);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_LE((*verified)->valid_until(), now + absl::Hours(1));
  auto stale = cache.Verify(pem, now + absl::Hours(2));
  ASSERT_FALSE(stale.ok());
  EXPECT_THAT(stale.status().message(), HasSubstr("nextUpdate"));
}

TEST_F(OperatorCertificateCacheTest, KeepsAtMostItsCapacityAndStillAnswers) {
  std::unique_ptr<ServerTrust> trust = Trust();
  ASSERT_NE(trust, nullptr);
  OperatorCertificateCache cache(*trust, /*capacity=*/2);
  std::vector<std::string> pems;
  for (const char* name : {"alice", "bob", "carol"})
    pems.push_back(ReadFileOrDie(Operator(name, absl::Hours(24)).certificate));
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < pems.size(); ++i) {
      auto verified = cache.Verify(pems[i], absl::Now());
      ASSERT_TRUE(verified.ok()) << verified.status();
      EXPECT_EQ((*verified)->identity().name,
                std::vector<std::string>({"alice", "bob", "carol"})[i]);
    }
  }
}

TEST_F(OperatorCertificateCacheTest, AHostCertificateNamesNoOperator) {
  std::unique_ptr<ServerTrust> trust = Trust();
  ASSERT_NE(trust, nullptr);
  OperatorCertificateCache cache(*trust);
  auto host = cache.Verify(ReadFileOrDie(agent_.certificate), absl::Now());
  ASSERT_FALSE(host.ok());
  EXPECT_THAT(host.status().message(),
              HasSubstr("is not an operator certificate"));
}

}  // namespace
}  // namespace opsagent
