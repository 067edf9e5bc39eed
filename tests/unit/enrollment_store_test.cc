// Enrollment tokens' text and name patterns, and the store that keeps
// tokens and issued host certificates beside the team's log (a real SQLite
// file): a token is used at most its number of times, even by callers
// racing for its last use, and nothing changes when a use is refused.

#include "controller/enroll/enrollment_store.h"

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/enroll/enrollment_token.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

google::protobuf::RepeatedPtrField<std::string> Patterns(
    std::initializer_list<const char*> items) {
  google::protobuf::RepeatedPtrField<std::string> out;
  for (const char* item : items) out.Add(item);
  return out;
}

TEST(EnrollmentTokenTest, NewTokensParseBackAndAreDistinct) {
  absl::StatusOr<TokenText> a = NewTokenText();
  absl::StatusOr<TokenText> b = NewTokenText();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->ToString(), b->ToString());
  absl::StatusOr<TokenText> parsed = ParseTokenText(a->ToString() + "\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->id, a->id);
  EXPECT_EQ(parsed->SecretDigest(), a->SecretDigest());
  EXPECT_NE(a->SecretDigest(), a->secret);
}

TEST(EnrollmentTokenTest, MalformedTokensAreRefused) {
  for (const char* text :
       {"", "abc", "0123456789ab", "0123456789ab.", "0123456789AB.xyz",
        "0123456789ab.short", "0123456789ab.a.b", "zz23456789ab.aaaa"}) {
    EXPECT_FALSE(ParseTokenText(text).ok()) << text;
  }
}

TEST(EnrollmentTokenTest, PatternsStayWithinLabels) {
  EXPECT_TRUE(
      HostNameAllowed(Patterns({"ip-10-7-*"}), "ip-10-7-1-2.fleet.example"));
  EXPECT_FALSE(
      HostNameAllowed(Patterns({"ip-10-7-*"}), "ip-10-8-1-2.fleet.example"));
  EXPECT_TRUE(
      HostNameAllowed(Patterns({"*.xq.fleet.example"}), "a.xq.fleet.example"));
  // * never crosses a dot.
  EXPECT_FALSE(
      HostNameAllowed(Patterns({"*.fleet.example"}), "a.xq.fleet.example"));
  EXPECT_TRUE(HostNameAllowed(Patterns({"WEB-?"}), "web-1.fleet.example"));
  EXPECT_FALSE(HostNameAllowed(Patterns({"web-?"}), "web-12.fleet.example"));
  EXPECT_FALSE(HostNameAllowed(Patterns({}), "web-1.fleet.example"));
  EXPECT_TRUE(
      HostNameAllowed(Patterns({"db-*", "web-*"}), "web-1.fleet.example"));
}

TEST(EnrollmentTokenTest, RequestsAreCheckedFieldByField) {
  v1::EnrollmentTokenRequest request;
  request.add_roles("xqwatcher");
  request.add_names("ip-10-7-*");
  request.set_uses(20);
  request.set_ttl_seconds(86400);
  EXPECT_TRUE(CheckTokenRequest(request, 3600).ok());
  for (const auto& [mutate, field] :
       std::vector<std::pair<std::function<void(v1::EnrollmentTokenRequest&)>,
                             const char*>>{
           {[](auto& r) { r.clear_roles(); }, "roles"},
           {[](auto& r) { r.set_roles(0, "x y"); }, "role"},
           {[](auto& r) { r.clear_names(); }, "--names"},
           {[](auto& r) { r.set_names(0, "ip/10"); }, "name pattern"},
           {[](auto& r) { r.set_names(0, "a..b"); }, "name pattern"},
           {[](auto& r) { r.set_uses(0); }, "uses"},
           {[](auto& r) { r.set_uses(10001); }, "uses"},
           {[](auto& r) { r.set_ttl_seconds(10); }, "ttl"},
           {[](auto& r) { r.set_ttl_seconds(31 * 86400); }, "ttl"},
           {[](auto& r) { r.set_certificate_seconds(30); }, "certificate life"},
           {[](auto& r) { r.set_certificate_seconds(7200); },
            "certificate life"},
           {[](auto& r) { r.set_environment("prod\n"); }, "environment"},
       }) {
    v1::EnrollmentTokenRequest changed = request;
    mutate(changed);
    absl::Status checked = CheckTokenRequest(changed, 3600);
    EXPECT_TRUE(absl::IsInvalidArgument(checked)) << field;
    EXPECT_THAT(std::string(checked.message()), HasSubstr(field));
  }
}

class EnrollmentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db");
    auto store = EnrollmentStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  v1::EnrollmentToken Token(const std::string& id, uint32_t uses) {
    v1::EnrollmentToken token;
    token.set_id(id);
    token.add_roles("web");
    token.set_environment("prod");
    token.add_names("web-*");
    token.set_uses(uses);
    token.set_created_at_ms(absl::ToUnixMillis(absl::Now()));
    token.set_expires_at_ms(absl::ToUnixMillis(absl::Now() + absl::Hours(1)));
    token.set_created_by("alice");
    return token;
  }

  HostCertificateRecord Certificate(const std::string& serial,
                                    const std::string& host) {
    HostCertificateRecord record;
    record.serial_hex = serial;
    record.host = host;
    record.roles = {"web"};
    record.environment = "prod";
    record.token_id = "t1";
    record.not_after = absl::Now() + absl::Hours(1);
    record.life = absl::Hours(1);
    return record;
  }

  std::string path_;
  std::unique_ptr<EnrollmentStore> store_;
};

TEST_F(EnrollmentStoreTest, OnlyTheRightSecretFindsAToken) {
  ASSERT_TRUE(store_->AddToken(Token("t1", 1), "digest-1").ok());
  EXPECT_TRUE(store_->FindToken("t1", "digest-1").ok());
  EXPECT_TRUE(
      absl::IsUnauthenticated(store_->FindToken("t1", "digest-2").status()));
  EXPECT_TRUE(
      absl::IsUnauthenticated(store_->FindToken("t2", "digest-1").status()));
}

TEST_F(EnrollmentStoreTest, RacersGetExactlyTheTokensUses) {
  ASSERT_TRUE(store_->AddToken(Token("t1", 5), "d").ok());
  std::atomic<int> enrolled{0}, refused{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 16; ++i) {
    racers.emplace_back([&, i] {
      absl::Status used = store_->RecordEnrollment(
          "t1", Certificate(absl::StrCat("s", i), absl::StrCat("web-", i)),
          absl::Now());
      (used.ok() ? enrolled : refused)++;
      if (!used.ok())
        EXPECT_THAT(std::string(used.message()), HasSubstr("used up"));
    });
  }
  for (std::thread& racer : racers) racer.join();
  EXPECT_EQ(enrolled.load(), 5);
  EXPECT_EQ(refused.load(), 11);
  auto tokens = store_->ListTokens(true, absl::Now());
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->at(0).used(), 5u);
  // A refused use left no certificate behind.
  int recorded = 0;
  for (int i = 0; i < 16; ++i)
    recorded += store_->FindCertificate(absl::StrCat("s", i)).has_value();
  EXPECT_EQ(recorded, 5);
}

TEST_F(EnrollmentStoreTest, RevokedAndExpiredTokensAreRefusedAndListedApart) {
  ASSERT_TRUE(store_->AddToken(Token("t1", 3), "d").ok());
  v1::EnrollmentToken old = Token("t2", 3);
  old.set_expires_at_ms(absl::ToUnixMillis(absl::Now() - absl::Minutes(1)));
  ASSERT_TRUE(store_->AddToken(old, "d").ok());
  auto revoked = store_->RevokeToken("t1", "bob", absl::Now());
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->revoked_by(), "bob");
  EXPECT_TRUE(absl::IsFailedPrecondition(
      store_->RevokeToken("t1", "bob", absl::Now()).status()));
  EXPECT_TRUE(
      absl::IsNotFound(store_->RevokeToken("t9", "bob", absl::Now()).status()));
  absl::Status used =
      store_->RecordEnrollment("t1", Certificate("s1", "web-1"), absl::Now());
  EXPECT_THAT(std::string(used.message()), HasSubstr("revoked by bob"));
  used =
      store_->RecordEnrollment("t2", Certificate("s2", "web-2"), absl::Now());
  EXPECT_THAT(std::string(used.message()), HasSubstr("expired"));
  EXPECT_TRUE(store_->ListTokens(false, absl::Now())->empty());
  EXPECT_EQ(store_->ListTokens(true, absl::Now())->size(), 2u);
}

TEST_F(EnrollmentStoreTest, RevokingAHostFeedsTheCrlAndStopsRenewals) {
  ASSERT_TRUE(store_->AddToken(Token("t1", 3), "d").ok());
  ASSERT_TRUE(
      store_->RecordEnrollment("t1", Certificate("a1", "web-1"), absl::Now())
          .ok());
  ASSERT_TRUE(
      store_->RecordEnrollment("t1", Certificate("b1", "web-2"), absl::Now())
          .ok());
  ASSERT_TRUE(store_->RecordRenewal("a1", Certificate("a2", "web-1")).ok());
  auto first = store_->NextCrl(absl::Now());
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->revoked.empty());
  EXPECT_EQ(store_->LastRevocation("web-1"), absl::InfinitePast());

  auto serials = store_->RevokeHost("web-1", absl::Now());
  ASSERT_TRUE(serials.ok());
  EXPECT_THAT(*serials, ::testing::UnorderedElementsAre("a1", "a2"));
  EXPECT_TRUE(store_->RevokeHost("web-1", absl::Now())->empty());
  EXPECT_TRUE(store_->FindCertificate("a2")->revoked());
  EXPECT_FALSE(store_->FindCertificate("b1")->revoked());
  EXPECT_NE(store_->LastRevocation("web-1"), absl::InfinitePast());
  auto second = store_->NextCrl(absl::Now());
  ASSERT_TRUE(second.ok());
  EXPECT_GT(second->number, first->number);
  EXPECT_EQ(second->revoked.size(), 2u);
  // A revoked certificate is not renewed.
  EXPECT_FALSE(store_->RecordRenewal("a2", Certificate("a3", "web-1")).ok());
  EXPECT_FALSE(store_->FindCertificate("a3").has_value());
  // Past their expiry, revoked certificates leave the CRL.
  auto later = store_->NextCrl(absl::Now() + absl::Hours(2));
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->revoked.empty());
}

TEST_F(EnrollmentStoreTest, TheCrlNumberSurvivesAReopen) {
  auto first = store_->NextCrl(absl::Now());
  ASSERT_TRUE(first.ok());
  store_.reset();
  auto reopened = EnrollmentStore::Open(path_);
  ASSERT_TRUE(reopened.ok());
  auto next = (*reopened)->NextCrl(absl::Now());
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->number, first->number + 1);
}

}  // namespace
}  // namespace opsagent
