#include "agent/server/replay_cache.h"

#include "gtest/gtest.h"

namespace opsagent {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

TEST(ReplayCacheTest, ANonceIsTakenOnce) {
  ReplayCache cache;
  EXPECT_TRUE(cache.Claim("n1", kNow + absl::Seconds(60), kNow));
  EXPECT_FALSE(cache.Claim("n1", kNow + absl::Seconds(60), kNow));
  EXPECT_TRUE(cache.Claim("n2", kNow + absl::Seconds(60), kNow));
  // Still refused just before it expires, long after the sweep interval.
  EXPECT_FALSE(
      cache.Claim("n1", kNow + absl::Seconds(60), kNow + absl::Seconds(59)));
}

TEST(ReplayCacheTest, TheJournalRestoresUnexpiredNonces) {
  std::vector<v1::JournalRecord> history(3);
  history[0].set_nonce("live");
  history[0].set_expires_at_unix_ms(
      absl::ToUnixMillis(kNow + absl::Seconds(30)));
  history[1].set_nonce("gone");
  history[1].set_expires_at_unix_ms(
      absl::ToUnixMillis(kNow - absl::Seconds(1)));
  history[2].set_request_id("direct call, no nonce");
  ReplayCache cache;
  cache.Restore(history, kNow);
  EXPECT_FALSE(cache.Claim("live", kNow + absl::Seconds(30), kNow));
  // An expired one is the signature's to refuse; the cache has let it go.
  EXPECT_TRUE(cache.Claim("gone", kNow - absl::Seconds(1), kNow));
}

TEST(ReplayCacheTest, NoRecordShortensOrOutlivesARequestsLife) {
  std::vector<v1::JournalRecord> history(3);
  history[0].set_nonce("n");
  history[0].set_expires_at_unix_ms(
      absl::ToUnixMillis(kNow + absl::Seconds(50)));
  // A later record of the same nonce claiming a shorter life (a refusal a
  // controller provoked) does not shorten it.
  history[1].set_nonce("n");
  history[1].set_expires_at_unix_ms(
      absl::ToUnixMillis(kNow + absl::Seconds(1)));
  // One claiming to live for ever lives as long as a request can.
  history[2].set_nonce("forever");
  history[2].set_expires_at_unix_ms(int64_t{1} << 62);
  ReplayCache cache;
  cache.Restore(history, kNow);
  EXPECT_FALSE(
      cache.Claim("n", kNow + absl::Seconds(50), kNow + absl::Seconds(20)));
  EXPECT_FALSE(cache.Claim("forever", kNow + absl::Seconds(60),
                           kNow + absl::Seconds(89)));
  EXPECT_TRUE(cache.Claim("forever", kNow + absl::Seconds(200),
                          kNow + absl::Seconds(101)));
}

}  // namespace
}  // namespace opsagent
