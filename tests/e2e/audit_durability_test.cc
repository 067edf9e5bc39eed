// Several processes writing the audit log at once, as several on-call
// engineers' opsctl would: no row is lost and the hash chain stays whole.

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "controller/audit/audit_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"

namespace opsagent {
namespace {

TEST(AuditDurabilityTest,
     EightProcessesWritingAThousandActionsEachLoseNothing) {
  const std::string db =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/shared-audit.db");
  constexpr int kWriters = 8, kEach = 1000;
  std::vector<Subprocess> writers;
  for (int w = 0; w < kWriters; ++w) {
    absl::StatusOr<Subprocess> writer = Subprocess::Start(
        {{"tests/testing/audit_writer", db, absl::StrCat("writer", w),
          absl::StrCat(kEach)},
         std::nullopt,
         "",
         absl::StrCat(std::getenv("TEST_TMPDIR"), "/writer", w, ".err")});
    ASSERT_TRUE(writer.ok()) << writer.status();
    writers.push_back(*std::move(writer));
  }
  for (Subprocess& writer : writers) {
    absl::StatusOr<int> code = writer.Wait(absl::Seconds(120));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 0) << testing::ReadFileOrDie(
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/writer",
                     &writer - writers.data(), ".err"));
  }
  auto store = AuditStore::Open(db);
  ASSERT_TRUE(store.ok());
  v1::AuditQuery all;
  all.set_limit(1000000);
  auto rows = (*store)->Query(all);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), static_cast<size_t>(kWriters * kEach));
  for (const v1::AuditEntry& row : *rows)
    ASSERT_EQ(row.outcome(), v1::OUTCOME_OK) << row.intent().request_id();
  absl::StatusOr<std::string> verified = (*store)->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(*verified, ::testing::HasSubstr("16000 events verified"));
}

}  // namespace
}  // namespace opsagent
