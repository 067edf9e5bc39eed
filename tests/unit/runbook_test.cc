// Runbook procedures: alert triage on the on-call document's own examples,
// import of the document itself, and validation of the repository's
// runbooks directory against the real opsctl commands.

#include "absl/strings/match.h"
#include "agent/system/proc_file.h"
#include "controller/commands/command.h"
#include "controller/runbook/alert_triage.h"
#include "controller/runbook/markdown_import.h"
#include "controller/runbook/runbook_library.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

TEST(AlertTriageTest, BoilsAlertsDownLikeTheStyleGuide) {
  std::vector<Alert> alerts = ParseAlerts(
      "[Prometheus]: [FIRING:1] DiskUsageWarning mitx-production (xqwatcher "
      "filesystem /dev/root ext4 ip-10-7-0-78 "
      "integrations/linux_hos");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].boiled, "DiskUsageWarning xqwatcher");
  EXPECT_EQ(alerts[0].host, "ip-10-7-0-78");
  EXPECT_EQ(alerts[0].environment, "production");
}

TEST(AlertTriageTest, SeveralFiringAlertsInOneText) {
  std::vector<Alert> alerts = ParseAlerts(
      "[Prometheus]: [FIRING:1] MemoryUsageWarning operations-qa (memory "
      "ip-10-1-3-33 integrations/linux_host warning)\n"
      "[Prometheus]: [FIRING:1] DiskUsageWarning production-apps (reddit "
      "filesystem /dev/nvme0n1p1 ext4 ip-10-13-1-59 "
      "integrations/linux_");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].boiled, "MemoryUsageWarning operations-qa");
  EXPECT_EQ(alerts[0].environment, "qa");
  EXPECT_EQ(alerts[0].host, "ip-10-1-3-33");
  EXPECT_EQ(alerts[1].boiled, "DiskUsageWarning reddit");
  EXPECT_EQ(alerts[1].host, "ip-10-13-1-59");
}

class RepositoryRunbooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RunbookLibrary> library = LoadRunbooks("runbooks");
    ASSERT_TRUE(library.ok()) << library.status();
    library_ = std::make_unique<RunbookLibrary>(*std::move(library));
  }
  std::string Best(absl::string_view text) {
    std::vector<Alert> alerts = ParseAlerts(text);
    std::vector<EntryMatch> ranked =
        RankEntries(alerts.at(0), library_->entries());
    return ranked[0].score >= 1.0 ? ranked[0].entry->id() : "";
  }
  std::unique_ptr<RunbookLibrary> library_;
};

TEST_F(RepositoryRunbooksTest, EveryAutomatableEntryOfTheDocumentIsThere) {
  for (const char* id :
       {"salt-memory", "xqwatcher-disk", "reddit-disk-pgbouncer",
        "bootcamp-heroku-credentials", "ovs-add-videos"}) {
    const v1::RunbookEntry* entry = library_->Find(id);
    ASSERT_NE(entry, nullptr) << id;
    EXPECT_FALSE(entry->mitigation().empty()) << id;
    EXPECT_TRUE(entry->mitigation(0).manual().empty())
        << id << " should be automated";
  }
}

TEST_F(RepositoryRunbooksTest, TheDocumentsAlertsFindTheirEntries) {
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] DiskUsageWarning mitx-production "
                 "(xqwatcher filesystem /dev/root ext4 "
                 "ip-10-7-0-78 integrations/linux_hos"),
            "xqwatcher-disk");
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] MemoryUsageWarning operations-qa "
                 "(memory ip-10-1-3-33 "
                 "integrations/linux_host warning)"),
            "salt-memory");
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] DiskUsageWarning production-apps "
                 "(reddit filesystem /dev/nvme0n1p1 ext4 "
                 "ip-10-13-1-59 integrations/linux_"),
            "reddit-disk-pgbouncer");
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] AlternateInvalidAccessKeyProduction "
                 "production (bootcamp-ecommerce "
                 "critical)"),
            "bootcamp-heroku-credentials");
  EXPECT_EQ(Best("[FIRING:1] CPUHigh some-host (cpu)"), "");  // unknown
}

TEST_F(RepositoryRunbooksTest, GrafanasSlackTextFindsTheEntryByTheHostsRoles) {
  // The team's current notification, as Slack shows it: no application.
  const std::string slack =
      "[FIRING:1] - DiskUsageWarning\n"
      "Description - Filesystem on /dev/nvme0n1p1 at ip-10-22-4-17 is 85.02% "
      "full.\n";
  std::vector<Alert> alerts = ParseAlerts(slack);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].name, "DiskUsageWarning");
  EXPECT_EQ(alerts[0].host, "ip-10-22-4-17");
  EXPECT_EQ(RankEntries(alerts[0], library_->entries())[0].score < 1.0, true);
  for (auto [role, entry] : {std::pair{"xqwatcher", "xqwatcher-disk"},
                             {"reddit", "reddit-disk-pgbouncer"}}) {
    Alert alert = alerts[0];
    AddHostRoles({role}, alert);
    std::vector<EntryMatch> ranked = RankEntries(alert, library_->entries());
    EXPECT_EQ(ranked[0].score, 1.0) << role;
    EXPECT_EQ(ranked[0].entry->id(), entry) << role;
  }
}

TEST_F(RepositoryRunbooksTest, ACriticalVariantFindsItsWarningsEntry) {
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] DiskUsageCritical mitx-production "
                 "(xqwatcher filesystem /dev/root ext4 ip-10-7-0-78)"),
            "xqwatcher-disk");
  Alert alert = AlertFromLabels({{"alertname", "DiskUsageCritical"},
                                 {"instance", "ip-10-7-0-78:9100"},
                                 {"mountpoint", "/"},
                                 {"device", "/dev/root"}},
                                {});
  EXPECT_EQ(alert.host, "ip-10-7-0-78");
  EXPECT_EQ(alert.mountpoint, "/");
  AddHostRoles({"xqwatcher"}, alert);
  EXPECT_EQ(RankEntries(alert, library_->entries())[0].entry->id(),
            "xqwatcher-disk");
}

TEST(AlertFromLabelsTest, TheHostComesFromInstanceElseTheDescription) {
  EXPECT_EQ(
      AlertFromLabels({{"alertname", "X"}, {"instance", "web-1:9100"}}, {})
          .host,
      "web-1");
  EXPECT_EQ(
      AlertFromLabels({{"alertname", "X"}, {"instance", "[::1]:9100"}}, {})
          .host,
      "[::1]:9100");
  EXPECT_EQ(AlertFromLabels({{"alertname", "MemoryUsageWarning"}},
                            {{"description",
                              "Memory usage on salt-1.example has been at "
                              "0.93 for at least 2 hours."}})
                .host,
            "salt-1.example");
  EXPECT_EQ(AlertFromLabels({{"alertname", "X"}}, {}).host, "");
}

TEST(RunbookLibraryTest, InvalidProceduresAreRefusedAtLoad) {
  struct Case {
    std::string text;
    std::string error;
  };
  for (
      const Case& c : std::vector<Case>{
          {R"(entry { id: "Bad Id" alert: "x" })", "must be lower-case"},
          {R"(entry { id: "a" })", "alert is required"},
          {R"(entry { id: "a" alert: "x" } entry { id: "a" alert: "y" })",
           "defined twice"},
          {R"(entry { id: "a" alert: "x" diagnosis { title: "t" } })",
           "either opsctl arguments or manual"},
          {R"(entry { id: "a" alert: "x" diagnosis { opsctl: ["rm", "-rf"] } })",
           "unknown command \"rm\""},
          {R"(entry { id: "a" alert: "x" diagnosis { opsctl: ["df", "{target}", "--bogus"] } })",
           "unknown flag"},
          {R"(entry { id: "a" alert: "x" diagnosis { opsctl: ["du", "{target}"] } })",
           "expected arguments: HOST PATH"},
          // Nothing that changes a host runs without a person.
          {R"(entry { id: "a" alert: "x" diagnosis { opsctl: ["truncate", "{target}", "/x.log"] automatic: true } })",
           "an automatic step must only read, and `opsctl truncate` changes "
           "the host"},
          {R"(entry { id: "a" alert: "x" mitigation { opsctl: ["df", "{target}"] automatic: true } })",
           "only diagnosis steps that run opsctl may be automatic"},
          {R"(entry { id: "a" alert: "x" diagnosis { manual: "look" automatic: true } })",
           "only diagnosis steps that run opsctl may be automatic"},
          // Automatic runs touch the alert's host alone.
          {R"(entry { id: "a" alert: "x" diagnosis { opsctl: ["df", "role:web"] automatic: true } })",
           "its host argument must be {target}"},
      }) {
    v1::Runbook runbook;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(c.text, &runbook))
        << c.text;
    absl::StatusOr<RunbookLibrary> library =
        RunbookLibrary::FromProto(runbook, "test", ValidateRunbookStep);
    ASSERT_FALSE(library.ok()) << c.text;
    EXPECT_THAT(library.status().message(), HasSubstr(c.error)) << c.text;
  }
}

TEST(MarkdownImportTest, ImportsTheTeamsOnCallDocument) {
  absl::StatusOr<std::string> text =
      ReadProcFile("tests/testdata/oncall_runbook.md");
  ASSERT_TRUE(text.ok());
  absl::StatusOr<v1::Runbook> runbook = ImportRunbookMarkdown(*text);
  ASSERT_TRUE(runbook.ok()) << runbook.status();
  std::map<std::string, const v1::RunbookEntry*> by_alert;
  for (const v1::RunbookEntry& entry : runbook->entry())
    by_alert[entry.alert()] = &entry;
  ASSERT_EQ(runbook->entry_size(), 10);
  ASSERT_TRUE(by_alert.count("DiskUsageWarning xqwatcher"));
  const v1::RunbookEntry& xq = *by_alert["DiskUsageWarning xqwatcher"];
  EXPECT_EQ(xq.product(), "XQueueWatcher");
  EXPECT_EQ(xq.id(), "xqueuewatcher-diskusagewarning-xqwatcher");
  ASSERT_FALSE(xq.mitigation().empty());
  EXPECT_THAT(xq.mitigation(0).manual(), HasSubstr("du -h | sort -hr | head"));
  ASSERT_TRUE(by_alert.count("InvalidAccessKeyProduction odl-video-service"));
  ASSERT_TRUE(by_alert.count("MemoryUsageWarning operations-<ENVIRONMENT>"));
  const v1::RunbookEntry& salt =
      *by_alert["MemoryUsageWarning operations-<ENVIRONMENT>"];
  EXPECT_EQ(salt.product(), "SaltStack");
  EXPECT_FALSE(salt.diagnosis().empty());
  // The Reddit entry has two alert headings; the second is kept in the summary.
  ASSERT_TRUE(by_alert.count("DiskUsageWarning reddit"));
  EXPECT_THAT(by_alert["DiskUsageWarning reddit"]->summary(),
              HasSubstr("Pingdom"));
  // Every generated entry loads as a runbook.
  EXPECT_TRUE(
      RunbookLibrary::FromProto(*runbook, "imported", ValidateRunbookStep)
          .ok());
}

TEST(MarkdownImportTest, DocumentsWithoutProductsAreRefused) {
  EXPECT_FALSE(ImportRunbookMarkdown("# Notes\n\nnothing here\n").ok());
  EXPECT_FALSE(
      ImportRunbookMarkdown("# Products\n## X\n### A\n```\nunterminated\n")
          .ok());
}

// Found by runbook_markdown_fuzzer: a heading without letters or digits gave
// an entry with an empty id, which no command line could name.
TEST(MarkdownImportTest, EveryEntryGetsAUsableDistinctId) {
  absl::StatusOr<v1::Runbook> nameless =
      ImportRunbookMarkdown("# Products\n## !!\n### ??\ntext\n");
  ASSERT_FALSE(nameless.ok());
  EXPECT_EQ(nameless.status().message(),
            "line 3: the product and alert heading have no letters or digits "
            "to name the entry");
  absl::StatusOr<v1::Runbook> twice = ImportRunbookMarkdown(
      "# Products\n## Salt\n### Memory\na\n\n### Memory\nb\n");
  ASSERT_TRUE(twice.ok()) << twice.status();
  ASSERT_EQ(twice->entry_size(), 2);
  EXPECT_EQ(twice->entry(0).id(), "salt-memory");
  EXPECT_EQ(twice->entry(1).id(), "salt-memory-2");
}

}  // namespace
}  // namespace opsagent
