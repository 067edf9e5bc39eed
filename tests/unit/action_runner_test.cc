#include "controller/action_runner.h"

#include <sqlite3.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

TEST(ActionRunnerTest, ClassifiesOutcomes) {
  EXPECT_EQ(ClassifyOutcome(absl::OkStatus(), false), AuditOutcome::kOk);
  EXPECT_EQ(ClassifyOutcome(absl::PermissionDeniedError(""), false),
            AuditOutcome::kDenied);
  EXPECT_EQ(ClassifyOutcome(absl::UnauthenticatedError(""), true),
            AuditOutcome::kDenied);
  EXPECT_EQ(ClassifyOutcome(absl::UnavailableError(""), false),
            AuditOutcome::kUnreachable);
  EXPECT_EQ(ClassifyOutcome(absl::NotFoundError(""), false),
            AuditOutcome::kError);
  // A mutating call cut off may have acted: never ok, never "unreachable".
  EXPECT_EQ(ClassifyOutcome(absl::UnavailableError(""), true),
            AuditOutcome::kUnknown);
  EXPECT_EQ(ClassifyOutcome(absl::DeadlineExceededError(""), true),
            AuditOutcome::kUnknown);
  EXPECT_EQ(ClassifyOutcome(absl::DeadlineExceededError(""), false),
            AuditOutcome::kError);
}

TEST(ActionRunnerTest, RequestIdsAreUniqueUuids) {
  std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
}

TEST(ActionRunnerTest, RecordsIntentBeforeCallingAndOutcomeAfter) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/runner.db");
  auto store = AuditStore::Open(path);
  ASSERT_TRUE(store.ok());
  ActionRunner runner(store->get(), {"alice", "alice-cert"},
                      {"disk alert", "INC-3", "run-1", false});
  v1::Host host;
  host.set_name("xq-1");
  host.set_address("10.0.0.1:9443");
  std::string sent_request_id;
  auto report = runner.Run<int>(
      host, {"memory", "{}"},
      [&](const v1::RequestMeta& meta) -> absl::StatusOr<int> {
        sent_request_id = meta.request_id();
        EXPECT_EQ(meta.reason(), "disk alert");
        EXPECT_EQ(meta.incident(), "INC-3");
        // The intent is already durable while the call is in flight.
        auto rows = (*store)->Query({});
        EXPECT_EQ(rows->size(), 1u);
        EXPECT_EQ((*rows)[0].outcome, AuditOutcome::kPending);
        return 42;
      },
      [](const int& value) { return absl::StrCat("answer ", value); });
  EXPECT_TRUE(report.sent);
  EXPECT_EQ(report.outcome, AuditOutcome::kOk);
  EXPECT_EQ(*report.reply, 42);
  auto rows = (*store)->Query({});
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].intent.request_id, sent_request_id);
  EXPECT_EQ((*rows)[0].intent.run_id, "run-1");
  EXPECT_EQ((*rows)[0].result->summary, "answer 42");
}

TEST(ActionRunnerTest, NothingIsSentWhenTheIntentCannotBeRecorded) {
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

  ActionRunner runner(store->get(), {"alice", ""}, {});
  v1::Host host;
  host.set_name("xq-1");
  bool called = false;
  auto report = runner.Run<int>(
      host, {"memory"},
      [&](const v1::RequestMeta&) -> absl::StatusOr<int> {
        called = true;
        return 1;
      },
      [](const int&) { return std::string(); });
  EXPECT_FALSE(called);
  EXPECT_FALSE(report.sent);
  EXPECT_EQ(report.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status.message().find("nothing was sent"),
            absl::string_view::npos)
      << report.status;
  EXPECT_NE(report.status.message().find("disk is full"),
            absl::string_view::npos)
      << report.status;
}

}  // namespace
}  // namespace opsagent
