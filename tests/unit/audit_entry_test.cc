// The checks at either end of the team log's wire types: what opsctld
// answers a query with, and what opsctl accepts of an export line.

#include "controller/audit/audit_entry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

TEST(BoundedQueryTest, LimitsAreKeptToAReply) {
  v1::AuditQuery query;
  EXPECT_EQ(BoundedQuery(query)->limit(), 100u);
  query.set_limit(5);
  EXPECT_EQ(BoundedQuery(query)->limit(), 5u);
  query.set_limit(UINT32_MAX);
  EXPECT_EQ(BoundedQuery(query)->limit(), 100000u);
}

TEST(BoundedQueryTest, AnOutcomeNoReleaseKnowsIsRefused) {
  v1::AuditQuery query;
  query.set_outcome(static_cast<v1::Outcome>(99));
  absl::StatusOr<v1::AuditQuery> bounded = BoundedQuery(query);
  EXPECT_TRUE(absl::IsInvalidArgument(bounded.status()));
  EXPECT_THAT(bounded.status().message(), HasSubstr("unknown outcome (99)"));
  query.set_outcome(v1::OUTCOME_PENDING);
  ASSERT_TRUE(BoundedQuery(query).ok());
  EXPECT_TRUE(BoundedQuery(query)->has_outcome());
}

TEST(CheckReceivedTest, ARowIsOneOutcome) {
  v1::AuditEntry row;
  row.set_id(3);
  row.set_outcome(v1::OUTCOME_PENDING);
  EXPECT_TRUE(CheckReceived(row).ok());
  row.set_outcome(v1::OUTCOME_DENIED);
  EXPECT_THAT(CheckReceived(row).message(),
              HasSubstr("says denied with no result"));
  row.mutable_result()->set_outcome(v1::OUTCOME_DENIED);
  EXPECT_TRUE(CheckReceived(row).ok());
  row.mutable_result()->set_outcome(v1::OUTCOME_OK);
  EXPECT_THAT(CheckReceived(row).message(),
              HasSubstr("says two outcomes (denied and ok)"));
  row.mutable_result()->set_outcome(static_cast<v1::Outcome>(-1));
  EXPECT_THAT(CheckReceived(row).message(), HasSubstr("does not know (-1)"));
}

TEST(CheckReceivedTest, AnExportLineNeedsACursorToResumeFrom) {
  v1::ExportAuditItem item;
  item.set_cursor("3.1");
  item.mutable_checkpoint()->set_number(1);
  EXPECT_TRUE(CheckReceived(item).ok());
  item.set_cursor("3");
  EXPECT_FALSE(CheckReceived(item).ok());
  item.set_cursor("4.1");
  item.clear_checkpoint();
  item.mutable_entry()->set_outcome(static_cast<v1::Outcome>(7));
  EXPECT_THAT(CheckReceived(item).message(), HasSubstr("does not know (7)"));
}

}  // namespace
}  // namespace opsagent
