// The agent journal's bounded text and paged reads, and what reconcile
// makes of them: text cut with a marker and compared by digest, pages by
// bytes followed by their cursor over a real journal file, and reads the
// agent only counted (over a caller's journaling rate) not reported missing.

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/server/action_journal.h"
#include "common/journal_text.h"
#include "common/operation_catalog.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "controller/audit/reconcile.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(JournalTextTest, LongTextIsCutWithAMarkerAtACharacterBoundary) {
  EXPECT_EQ(BoundedJournalText("short"), "short");
  EXPECT_EQ(BoundedJournalText(std::string(kJournalTextBytes, 'a')),
            std::string(kJournalTextBytes, 'a'));
  // Two-byte characters, so that the cut falls inside one unless it is
  // careful.
  std::string long_text;
  for (int i = 0; i < 1000; ++i) long_text += "\xc3\xa9";
  const std::string cut = BoundedJournalText(long_text);
  EXPECT_LE(cut.size(), kJournalTextBytes);
  EXPECT_TRUE(IsValidUtf8(cut));
  EXPECT_THAT(cut, testing::EndsWith(" ...[cut: 2000 bytes in all]"));
  EXPECT_TRUE(JournalTextIsCut(long_text));
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

class JournalPagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        ".jsonl");
    absl::StatusOr<std::unique_ptr<ActionJournal>> journal =
        ActionJournal::Open(path_, 64 << 10);
    ASSERT_TRUE(journal.ok()) << journal.status();
    journal_ = *std::move(journal);
  }

  void AppendRecords(int count, size_t text_bytes) {
    for (int i = 0; i < count; ++i) {
      v1::JournalRecord record;
      record.set_event(v1::JournalRecord::REFUSED);
      record.set_request_id(absl::StrCat("r-", next_++));
      record.set_status_message(std::string(text_bytes, 'm'));
      ASSERT_TRUE(journal_
                      ->Append(std::move(record),
                               ActionJournal::Durability::kWritten,
                               ActionJournal::ReserveUse::kHalf)
                      .ok());
    }
  }

  // Every page from the start, following the cursor.
  std::vector<v1::JournalReply> AllPages(size_t max_bytes) {
    std::vector<v1::JournalReply> pages;
    uint64_t cursor = 0;
    do {
      v1::JournalReply page;
      absl::Status read = journal_->ReadSince(absl::InfinitePast(), cursor,
                                              10000, max_bytes, &page);
      EXPECT_TRUE(read.ok()) << read;
      if (!read.ok() || pages.size() > 1000) break;
      cursor = page.next_cursor();
      pages.push_back(std::move(page));
    } while (pages.back().more());
    return pages;
  }

  std::string path_;
  std::unique_ptr<ActionJournal> journal_;
  int next_ = 0;
};

TEST_F(JournalPagingTest, PagesAreBoundedByBytesAndTheCursorCoversAll) {
  AppendRecords(200, 1000);  // about 1.1 KiB a line
  const std::vector<v1::JournalReply> pages = AllPages(16 * 1024);
  ASSERT_GT(pages.size(), 10u);
  std::vector<std::string> ids;
  for (const v1::JournalReply& page : pages) {
    EXPECT_LE(page.ByteSizeLong(), 16u * 1024) << "a page over its budget";
    EXPECT_GT(page.records_size(), 0);
    for (const v1::JournalRecord& record : page.records())
      ids.push_back(record.request_id());
  }
  // Each once, oldest first.
  ASSERT_EQ(ids.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(ids[i], absl::StrCat("r-", i));
  EXPECT_FALSE(pages.back().more());
}

TEST_F(JournalPagingTest, ARecordOverTheBudgetComesAloneAndAPageMovesOn) {
  AppendRecords(1, 10);
  AppendRecords(1, 50000);
  AppendRecords(1, 10);
  const std::vector<v1::JournalReply> pages = AllPages(1024);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[1].records(0).request_id(), "r-1");
}

TEST_F(JournalPagingTest, ACursorThatIsNotARecordsStartIsRefused) {
  AppendRecords(3, 100);
  for (uint64_t cursor : {uint64_t{5}, uint64_t{1} << 40}) {
    v1::JournalReply page;
    absl::Status read =
        journal_->ReadSince(absl::InfinitePast(), cursor, 10, 1024, &page);
    EXPECT_EQ(read.code(), absl::StatusCode::kInvalidArgument) << read;
    EXPECT_THAT(read.message(), HasSubstr("is not where a record of"));
    EXPECT_EQ(page.records_size(), 0);
  }
}

TEST_F(JournalPagingTest, OnlyRecordsSinceTheTimeAskedFor) {
  AppendRecords(5, 10);
  const absl::Time between = absl::Now();
  absl::SleepFor(absl::Milliseconds(5));
  AppendRecords(2, 10);
  v1::JournalReply page;
  ASSERT_TRUE(journal_->ReadSince(between, 0, 10, 1 << 20, &page).ok());
  ASSERT_EQ(page.records_size(), 2);
  EXPECT_EQ(page.records(0).request_id(), "r-5");
}

constexpr int64_t kSince = 1'800'000'000'000;

std::string At(int64_t ms) {
  return absl::FormatTime(absl::RFC3339_full, absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

v1::AuditEntry ReadRow(const std::string& id, int64_t at_ms,
                       const std::string& reason, const std::string& path) {
  v1::AuditEntry row;
  row.mutable_intent()->set_request_id(id);
  row.mutable_intent()->set_operation("disk_usage");
  row.mutable_intent()->set_host("web-1");
  row.mutable_intent()->set_cert_identity("rita");
  row.mutable_intent()->set_started_at_ms(at_ms);
  row.mutable_intent()->set_reason(reason);
  v1::DiskUsageRequest request;
  request.set_path(path);
  row.mutable_intent()->set_parameters_json(ParametersJson(request));
  row.set_outcome(v1::OUTCOME_ERROR);
  row.mutable_result()->set_outcome(v1::OUTCOME_ERROR);
  row.mutable_result()->set_finished_at_ms(at_ms + 10);
  return row;
}

// As the agent journals a read (agent/server/call_gate.cc).
std::vector<v1::JournalRecord> JournaledRead(const std::string& id,
                                             int64_t at_ms,
                                             const std::string& reason,
                                             const std::string& path) {
  v1::JournalRecord started;
  started.set_event(v1::JournalRecord::STARTED);
  started.set_request_id(id);
  started.set_operation("disk_usage");
  started.set_caller("rita (readonly)");
  started.set_via("controller opsctld");
  started.set_time(At(at_ms));
  started.set_reason(BoundedJournalText(reason));
  if (JournalTextIsCut(reason)) started.set_reason_sha256(Sha256Hex(reason));
  v1::DiskUsageRequest request;
  request.set_path(path);
  started.set_parameters_sha256(Sha256Hex(ParametersJson(request)));
  v1::JournalRecord finished = started;
  finished.set_event(v1::JournalRecord::FINISHED);
  finished.set_status_code(7);
  return {started, finished};
}

TEST(ReconcileDigestTest, CutTextAndParametersAreComparedByDigest) {
  const std::string reason(1000, 'r');
  const std::string path = absl::StrCat("/var/", std::string(4000, 'p'));
  const std::vector<v1::JournalRecord> journal =
      JournaledRead("a", kSince + 100, reason, path);
  EXPECT_THAT(
      Reconcile("web-1", kSince, {ReadRow("a", kSince + 100, reason, path)},
                journal, {}, "")
          .findings,
      IsEmpty());
  // A difference past the cut, in the reason or in the path, is seen.
  std::string other_reason = reason;
  other_reason.back() = 'x';
  HostReconciliation edited_reason = Reconcile(
      "web-1", kSince, {ReadRow("a", kSince + 100, other_reason, path)},
      journal, {}, "");
  ASSERT_EQ(edited_reason.findings.size(), 1u);
  EXPECT_EQ(edited_reason.findings[0].kind, FindingKind::kRequestDiffers);
  EXPECT_THAT(edited_reason.findings[0].detail, HasSubstr("reason"));
  std::string other_path = path;
  other_path.back() = 'x';
  HostReconciliation edited_path = Reconcile(
      "web-1", kSince, {ReadRow("a", kSince + 100, reason, other_path)},
      journal, {}, "");
  ASSERT_EQ(edited_path.findings.size(), 1u);
  EXPECT_EQ(edited_path.findings[0].kind, FindingKind::kRequestDiffers);
  EXPECT_THAT(edited_path.findings[0].detail, HasSubstr("parameters"));
}

TEST(ReconcileDigestTest, ReadsTheAgentOnlyCountedAreNotReportedMissing) {
  const std::vector<v1::AuditEntry> rows = {
      ReadRow("counted", kSince + 2000, "why", "/var"),
      // After the count's window: missing.
      ReadRow("later", kSince + 60000, "why", "/var")};
  v1::JournalRecord summary;
  summary.set_event(v1::JournalRecord::NOT_JOURNALED);
  summary.set_caller("rita (readonly)");
  summary.set_not_journaled(250);
  summary.set_not_journaled_since_unix_ms(kSince + 1000);
  summary.set_time(At(kSince + 30000));
  std::vector<v1::JournalRecord> journal =
      JournaledRead("first", kSince + 10, "why", "/var");
  journal.push_back(summary);
  HostReconciliation out = Reconcile("web-1", kSince, rows, journal, {}, "");
  ASSERT_EQ(out.findings.size(), 2u);
  std::set<std::string> missing;
  for (const Finding& finding : out.findings) {
    if (finding.kind == FindingKind::kNotRun)
      missing.insert(finding.request_id);
  }
  EXPECT_EQ(missing, std::set<std::string>{"later"});
  // Without the count, both are missing.
  journal.pop_back();
  EXPECT_EQ(Reconcile("web-1", kSince, rows, journal, {}, "").findings.size(),
            3u);
}

TEST(ReconcileDigestTest, EachPagesOwnReadIsLeftOut) {
  std::vector<v1::JournalRecord> journal =
      JournaledRead("page-1", kSince + 10, "", "");
  for (v1::JournalRecord& record : JournaledRead("page-2", kSince + 20, "", ""))
    journal.push_back(record);
  EXPECT_THAT(Reconcile("web-1", kSince, {}, journal, {"page-1", "page-2"}, "")
                  .findings,
              IsEmpty());
}

}  // namespace
}  // namespace opsagent
