#include "controller/auditing_caller.h"

#include <sqlite3.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

TEST(AuditingCallerTest, ClassifiesOutcomes) {
  EXPECT_EQ(ClassifyOutcome(absl::OkStatus(), false), v1::OUTCOME_OK);
  EXPECT_EQ(ClassifyOutcome(absl::PermissionDeniedError(""), false),
            v1::OUTCOME_DENIED);
  EXPECT_EQ(ClassifyOutcome(absl::UnauthenticatedError(""), true),
            v1::OUTCOME_DENIED);
  EXPECT_EQ(ClassifyOutcome(absl::UnavailableError(""), false),
            v1::OUTCOME_UNREACHABLE);
  EXPECT_EQ(ClassifyOutcome(absl::NotFoundError(""), false), v1::OUTCOME_ERROR);
  // A mutating call cut off may have acted: never ok, never "unreachable".
  EXPECT_EQ(ClassifyOutcome(absl::UnavailableError(""), true),
            v1::OUTCOME_UNKNOWN);
  EXPECT_EQ(ClassifyOutcome(absl::DeadlineExceededError(""), true),
            v1::OUTCOME_UNKNOWN);
  EXPECT_EQ(ClassifyOutcome(absl::DeadlineExceededError(""), false),
            v1::OUTCOME_ERROR);
}

TEST(AuditingCallerTest, RequestIdsAreUniqueUuids) {
  std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
}

v1::Host Host() {
  v1::Host host;
  host.set_name("xq-1");
  host.set_address("10.0.0.1:9443");
  return host;
}

// The record says what the declaration says the operation is, its
// parameters as the request's JSON, and its result as the reply's.
TEST(AuditingCallerTest, RecordsIntentBeforeCallingAndOutcomeAfter) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/caller.db");
  auto store = AuditStore::Open(path);
  ASSERT_TRUE(store.ok());
  AuditingCaller caller(store->get(), {"alice", "alice-cert"},
                        {"disk alert", "INC-3", "run-1"});
  auto request = std::make_shared<v1::TruncateLogRequest>();
  request->set_path("/edx/var/log/xqwatcher/xqwatcher.log");
  std::string sent_request_id;
  AuditedResult result = caller.Call(
      Host(), {FindOperation("truncate_log"), request, /*dry_run=*/true},
      [&](const google::protobuf::Message& sent) {
        const v1::RequestMeta& meta = OperationInfo::Meta(sent);
        sent_request_id = meta.request_id();
        EXPECT_EQ(meta.reason(), "disk alert");
        EXPECT_EQ(meta.incident(), "INC-3");
        EXPECT_TRUE(meta.dry_run());
        // The intent is already durable while the call is in flight.
        auto rows = (*store)->Query({});
        EXPECT_EQ(rows->size(), 1u);
        EXPECT_EQ((*rows)[0].outcome(), v1::OUTCOME_PENDING);
        auto reply = std::make_unique<v1::TruncateLogReply>();
        reply->set_summary("would truncate 8.2G");
        reply->set_size_before_bytes(8800000000);
        return OperationResult{absl::OkStatus(), std::move(reply)};
      });
  EXPECT_TRUE(result.sent);
  EXPECT_EQ(result.outcome, v1::OUTCOME_OK);
  auto rows = (*store)->Query({});
  ASSERT_EQ(rows->size(), 1u);
  const v1::AuditEntry& row = (*rows)[0];
  EXPECT_EQ(row.intent().request_id(), sent_request_id);
  EXPECT_EQ(row.intent().run_id(), "run-1");
  EXPECT_EQ(row.intent().operation(), "truncate_log");
  EXPECT_TRUE(row.intent().mutating());  // from agent.proto's declaration
  EXPECT_TRUE(row.intent().dry_run());
  EXPECT_EQ(row.intent().parameters_json(),
            "{\"path\":\"/edx/var/log/xqwatcher/xqwatcher.log\"}");
  EXPECT_EQ(row.result().summary(), "would truncate 8.2G");
  EXPECT_THAT(row.result().result_json(),
              HasSubstr("\"size_before_bytes\":\"8800000000\""));
}

// A failure keeps what the operation found: a failed restart's attempts.
TEST(AuditingCallerTest, AFailureIsRecordedWithTheResultItCarried) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/failure.db");
  auto store = AuditStore::Open(path);
  ASSERT_TRUE(store.ok());
  AuditingCaller caller(store->get(), {"alice", ""}, {});
  auto request = std::make_shared<v1::RestartServiceRequest>();
  request->set_name("broken.service");
  AuditedResult result = caller.Call(
      Host(), {FindOperation("restart_service"), request},
      [&](const google::protobuf::Message&) {
        auto reply = std::make_unique<v1::RestartServiceReply>();
        for (int n = 1; n <= 3; ++n) {
          v1::RestartAttempt* attempt = reply->add_attempts();
          attempt->set_number(n);
          attempt->mutable_state()->set_active_state("failed");
        }
        reply->set_summary("FAILED to restart broken.service");
        return OperationResult{
            absl::FailedPreconditionError("FAILED to restart broken.service"),
            std::move(reply)};
      });
  EXPECT_EQ(result.outcome, v1::OUTCOME_ERROR);
  ASSERT_NE(result.final, nullptr);
  auto rows = (*store)->Query({});
  ASSERT_EQ(rows->size(), 1u);
  const v1::AuditResult& recorded = (*rows)[0].result();
  EXPECT_EQ(recorded.error_code(), "FAILED_PRECONDITION");
  EXPECT_EQ(recorded.summary(), "FAILED to restart broken.service");
  EXPECT_THAT(recorded.result_json(), HasSubstr("\"number\":3"));
  EXPECT_TRUE((*AuditStore::Open(path))->Verify().ok());
}

TEST(AuditingCallerTest, NothingIsSentWhenTheIntentCannotBeRecorded) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/blocked.db");
  auto store = AuditStore::Open(path);
  ASSERT_TRUE(store.ok());
  // A trigger that aborts every insert stands in for a full disk or a
  // database another process has broken.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(
                db,
                "CREATE TRIGGER block BEFORE INSERT ON actions "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
                nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  AuditingCaller caller(store->get(), {"alice", ""}, {});
  bool called = false;
  AuditedResult result = caller.Call(
      Host(), {FindOperation("memory"), std::make_shared<v1::MemoryRequest>()},
      [&](const google::protobuf::Message&) {
        called = true;
        return OperationResult{absl::OkStatus(),
                               std::make_unique<v1::MemoryReply>()};
      });
  EXPECT_FALSE(called);
  EXPECT_FALSE(result.sent);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status.message(), HasSubstr("nothing was sent"));
  EXPECT_THAT(result.status.message(), HasSubstr("disk is full"));
}

// Sent, answered, and then the log cannot take the outcome: the row stays
// an intent, so the call is unknown (exit 6), never ok, and says what the
// agent answered.
TEST(AuditingCallerTest, AnOutcomeTheLogCannotRecordIsUnknown) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/unrecorded.db");
  auto store = AuditStore::Open(path);
  ASSERT_TRUE(store.ok());
  AuditingCaller caller(store->get(), {"alice", ""}, {});
  auto request = std::make_shared<v1::TruncateLogRequest>();
  request->set_path("/edx/var/log/xqwatcher/xqwatcher.log");
  AuditedResult result = caller.Call(
      Host(), {FindOperation("truncate_log"), request},
      [&](const google::protobuf::Message&) {
        // The disk fills while the agent acts.
        sqlite3* db = nullptr;
        EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        EXPECT_EQ(sqlite3_exec(db,
                               "CREATE TRIGGER block BEFORE UPDATE ON actions "
                               "BEGIN SELECT RAISE(ABORT, 'database or disk "
                               "is full'); END;",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
        auto reply = std::make_unique<v1::TruncateLogReply>();
        reply->set_summary("truncated 8.2G");
        return OperationResult{absl::OkStatus(), std::move(reply)};
      });
  EXPECT_TRUE(result.sent);
  EXPECT_EQ(result.outcome, v1::OUTCOME_UNKNOWN);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status.message(), HasSubstr("the agent answered ok"));
  EXPECT_THAT(result.status.message(),
              HasSubstr("could not record this outcome"));
  EXPECT_THAT(result.status.message(), HasSubstr("disk is full"));
  ASSERT_NE(result.final, nullptr);  // what the agent said is still shown
  auto rows = (*store)->Query({});
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].outcome(), v1::OUTCOME_PENDING);
}

}  // namespace
}  // namespace opsagent
