// The guards around every mutating operation: one operation per target, and
// a retried request id answered from the journal instead of acting twice.

#include "agent/ops/target_locks.h"
#include "agent/server/retry_cache.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

TEST(TargetLocksTest, SecondOperationOnATargetIsRefusedWithWhoAndSince) {
  TargetLocks locks;
  auto first = locks.Acquire("file:/edx/var/log/x.log", "alice (oncall)",
                             "truncate_log");
  ASSERT_TRUE(first.ok());
  auto second =
      locks.Acquire("file:/edx/var/log/x.log", "bob (oncall)", "truncate_log");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(
      second.status().message(),
      HasSubstr(
          "truncate_log of file:/edx/var/log/x.log is in progress since"));
  EXPECT_THAT(second.status().message(), HasSubstr("by alice (oncall)"));
  EXPECT_TRUE(
      locks.Acquire("service:salt-master.service", "bob", "restart_service")
          .ok());  // other targets are free
  first->reset();  // released
  EXPECT_TRUE(
      locks.Acquire("file:/edx/var/log/x.log", "bob", "truncate_log").ok());
}

TEST(RetryCacheTest, RetryGetsTheFirstOutcome) {
  RetryCache journal;
  EXPECT_FALSE(journal.Claim("r1", "truncate_log", "alice", "d1")
                   .has_value());  // first time: act
  auto running = journal.Claim("r1", "truncate_log", "alice", "d1");
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->status().code(),
            absl::StatusCode::kAborted);  // still running
  journal.Finish("r1", {absl::OkStatus(), "reply-bytes"});
  auto replay = journal.Claim("r1", "truncate_log", "alice", "d1");
  ASSERT_TRUE(replay.has_value() && replay->ok());
  EXPECT_EQ((*replay)->serialized_reply, "reply-bytes");
}

TEST(RetryCacheTest, AnotherCallerCannotReuseARequestId) {
  RetryCache journal;
  journal.Claim("r1", "truncate_log", "alice", "d1");
  journal.Finish("r1", {absl::OkStatus(), "secret"});
  auto stolen = journal.Claim("r1", "truncate_log", "mallory", "d1");
  ASSERT_TRUE(stolen.has_value());
  EXPECT_EQ(stolen->status().code(), absl::StatusCode::kAlreadyExists);
  auto other_op = journal.Claim("r1", "restart_service", "alice", "d1");
  EXPECT_EQ(other_op->status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(RetryCacheTest, TheSameCallerCannotReuseAnIdForADifferentRequest) {
  RetryCache journal;
  journal.Claim("r1", "truncate_log", "alice", "digest-of-request-1");
  journal.Finish("r1", {absl::OkStatus(), "first"});
  auto other_body =
      journal.Claim("r1", "truncate_log", "alice", "digest-of-request-2");
  ASSERT_TRUE(other_body.has_value());
  EXPECT_EQ(other_body->status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(other_body->status().message(),
              HasSubstr("was already used for a different request"));
  auto same =
      journal.Claim("r1", "truncate_log", "alice", "digest-of-request-1");
  ASSERT_TRUE(same.has_value() && same->ok());
  EXPECT_EQ((*same)->serialized_reply, "first");
}

TEST(RetryCacheTest, DigestsTellRequestsApartAndIgnoreMapOrder) {
  v1::TruncateLogRequest a, b;
  a.set_path("/edx/var/log/xqwatcher/xqwatcher.log");
  b = a;
  EXPECT_EQ(RetryCache::Digest(a), RetryCache::Digest(b));
  b.set_path("/edx/var/log/xqwatcher/other.log");
  EXPECT_NE(RetryCache::Digest(a), RetryCache::Digest(b));
  v1::RunCommandRequest c, d;
  (*c.mutable_params())["course"] = "course-v1:MITx+6.00x+2T2024";
  (*c.mutable_params())["verbose"] = "1";
  (*d.mutable_params())["verbose"] = "1";
  (*d.mutable_params())["course"] = "course-v1:MITx+6.00x+2T2024";
  EXPECT_EQ(RetryCache::Digest(c), RetryCache::Digest(d));
}

TEST(RetryCacheTest, ForgetsOldestFinishedEntriesBeyondCapacity) {
  RetryCache journal(2);
  for (const char* id : {"a", "b", "c"}) {
    journal.Claim(id, "op", "x", "d1");
    journal.Finish(id, {absl::OkStatus(), id});
  }
  EXPECT_FALSE(journal.Claim("a", "op", "x", "d1")
                   .has_value());  // forgotten: treated as new
  EXPECT_TRUE(journal.Claim("c", "op", "x", "d1").has_value());
}

}  // namespace
}  // namespace opsagent
