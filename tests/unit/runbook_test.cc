// Runbook procedures: alert triage on the on-call document's own examples,
// import of the document itself, and validation of the repository's
// runbooks directory against the real opsctl commands.

#include <map>
#include <string>
#include <vector>

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
  // The entry pasted `text` finds on a host the inventory gives `roles`.
  std::string Best(absl::string_view text,
                   const std::vector<std::string>& roles) {
    std::vector<Alert> alerts = ParseAlerts(text);
    const RunbookMatch match =
        MatchEntry(alerts.at(0).name, roles, library_->entries());
    return match.entry == nullptr ? "" : match.entry->id();
  }
  RunbookMatch FromLabels(const std::map<std::string, std::string>& labels,
                          const std::vector<std::string>& roles) {
    return MatchEntry(AlertFromLabels(labels, {}).name, roles,
                      library_->entries());
  }
  static std::vector<std::string> Ids(const RunbookMatch& match) {
    std::vector<std::string> ids;
    for (const v1::RunbookEntry* entry : match.candidates)
      ids.push_back(entry->id());
    return ids;
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

TEST_F(RepositoryRunbooksTest, TheDocumentsAlertsFindTheirEntriesOnTheirHosts) {
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] DiskUsageWarning mitx-production "
                 "(xqwatcher filesystem /dev/root ext4 "
                 "ip-10-7-0-78 integrations/linux_hos",
                 {"xqwatcher"}),
            "xqwatcher-disk");
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] MemoryUsageWarning operations-qa "
                 "(memory ip-10-1-3-33 "
                 "integrations/linux_host warning)",
                 {"salt-master"}),
            "salt-memory");
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] DiskUsageWarning production-apps "
                 "(reddit filesystem /dev/nvme0n1p1 ext4 "
                 "ip-10-13-1-59 integrations/linux_",
                 {"reddit"}),
            "reddit-disk-pgbouncer");
  // About a Heroku app, not a host: its name alone, on any host.
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] AlternateInvalidAccessKeyProduction "
                 "production (bootcamp-ecommerce "
                 "critical)",
                 {}),
            "bootcamp-heroku-credentials");
  EXPECT_EQ(Best("[FIRING:1] CPUHigh some-host (cpu)", {"xqwatcher"}), "");
}

TEST_F(RepositoryRunbooksTest, TheTextsWordsAreNotTheHostsRoles) {
  // The same pasted text on a host the inventory does not know, or knows
  // with another role: the text's "xqwatcher" chooses nothing.
  const std::string text =
      "[Prometheus]: [FIRING:1] DiskUsageWarning mitx-production (xqwatcher "
      "filesystem /dev/root ext4 ip-10-7-0-78)";
  EXPECT_EQ(Best(text, {}), "");
  EXPECT_EQ(Best(text, {"web"}), "");
  EXPECT_EQ(Best(text, {"reddit"}), "reddit-disk-pgbouncer");
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
  RunbookMatch unknown_host =
      MatchEntry(alerts[0].name, {}, library_->entries());
  EXPECT_EQ(unknown_host.entry, nullptr);
  EXPECT_FALSE(unknown_host.ambiguous);
  EXPECT_EQ(Ids(unknown_host), (std::vector<std::string>{
                                   "reddit-disk-pgbouncer", "xqwatcher-disk"}));
  for (auto [role, entry] : {std::pair{"xqwatcher", "xqwatcher-disk"},
                             {"reddit", "reddit-disk-pgbouncer"}}) {
    EXPECT_EQ(Best(slack, {"base", role}), entry) << role;
  }
}

TEST_F(RepositoryRunbooksTest, ACriticalVariantFindsItsWarningsEntry) {
  EXPECT_EQ(Best("[Prometheus]: [FIRING:1] DiskUsageCritical mitx-production "
                 "(xqwatcher filesystem /dev/root ext4 ip-10-7-0-78)",
                 {"xqwatcher"}),
            "xqwatcher-disk");
  Alert alert = AlertFromLabels({{"alertname", "DiskUsageCritical"},
                                 {"instance", "ip-10-7-0-78:9100"},
                                 {"mountpoint", "/"},
                                 {"device", "/dev/root"}},
                                {});
  EXPECT_EQ(alert.host, "ip-10-7-0-78");
  EXPECT_EQ(alert.mountpoint, "/");
  const RunbookMatch match =
      MatchEntry(alert.name, {"xqwatcher"}, library_->entries());
  ASSERT_NE(match.entry, nullptr);
  EXPECT_EQ(match.entry->id(), "xqwatcher-disk");
  // Only that variant: "...Warning" does not find a "...Critical" entry,
  // nor does a name that merely starts or ends like one.
  for (const char* other : {"DiskUsageCriticalX", "XDiskUsageCritical",
                            "diskusagewarning", "DiskUsage"}) {
    EXPECT_EQ(MatchEntry(other, {"xqwatcher"}, library_->entries()).entry,
              nullptr)
        << other;
  }
}

// The outside attack run, hole 5: words of the alert name stood in for roles
// the host does not have.
TEST_F(RepositoryRunbooksTest, AnAlertNameWithARoleInItIsNotThatRolesEntry) {
  // An xqwatcher host; the alert's name carries "reddit".
  for (const char* name : {"DiskUsageWarning reddit", "DiskUsageWarning_reddit",
                           "DiskUsageWarning-reddit", "reddit"}) {
    RunbookMatch match =
        FromLabels({{"alertname", name}, {"instance", "ip-10-7-0-78:9100"}},
                   {"xqwatcher"});
    EXPECT_EQ(match.entry, nullptr) << name;
    EXPECT_FALSE(match.ambiguous) << name;
  }
  // Labels that name another application choose nothing either: the host's
  // own role does.
  RunbookMatch own = FromLabels({{"alertname", "DiskUsageWarning"},
                                 {"application", "reddit"},
                                 {"service", "reddit"},
                                 {"instance", "ip-10-7-0-78:9100"}},
                                {"xqwatcher"});
  ASSERT_NE(own.entry, nullptr);
  EXPECT_EQ(own.entry->id(), "xqwatcher-disk");
}

TEST_F(RepositoryRunbooksTest, TheSaltMastersEntryIsForSaltMastersOnly) {
  // A web host; the alert's name carries "operations", the word of the Salt
  // masters' heading. Its automatic step ran there.
  for (const char* name :
       {"MemoryUsageWarning_operations", "MemoryUsageWarning operations-qa",
        "MemoryUsageWarning operations", "operations"}) {
    EXPECT_EQ(
        FromLabels({{"alertname", name}, {"environment", "qa"}}, {"web"}).entry,
        nullptr)
        << name;
  }
  // The real alert name on a web host: not the Salt masters' entry either;
  // it is listed as the entry for that name on other roles.
  RunbookMatch web = FromLabels({{"alertname", "MemoryUsageWarning"}}, {"web"});
  EXPECT_EQ(web.entry, nullptr);
  EXPECT_EQ(Ids(web), std::vector<std::string>{"salt-memory"});
  RunbookMatch salt =
      FromLabels({{"alertname", "MemoryUsageWarning"}}, {"salt-master"});
  ASSERT_NE(salt.entry, nullptr);
  EXPECT_EQ(salt.entry->id(), "salt-memory");
}

TEST_F(RepositoryRunbooksTest, AHostWithTwoEntriesRolesIsAmbiguous) {
  // An xqwatcher that is also a reddit node: both DiskUsageWarning entries
  // fit; neither is chosen (file order decided before).
  RunbookMatch both = MatchEntry("DiskUsageWarning", {"xqwatcher", "reddit"},
                                 library_->entries());
  EXPECT_EQ(both.entry, nullptr);
  EXPECT_TRUE(both.ambiguous);
  EXPECT_EQ(Ids(both), (std::vector<std::string>{"reddit-disk-pgbouncer",
                                                 "xqwatcher-disk"}));
}

TEST(MatchEntryTest, TiesAreAmbiguousInAnyOrderAndTheHostsRoleWins) {
  const auto entry = [](const std::string& id, const std::string& alert,
                        std::vector<std::string> roles,
                        std::vector<std::string> names) {
    v1::RunbookEntry made;
    made.set_id(id);
    made.set_alert(alert);
    for (const std::string& role : roles) made.add_roles(role);
    for (const std::string& name : names) made.add_alert_names(name);
    return made;
  };
  const v1::RunbookEntry web_a = entry("web-a", "DiskUsageWarning web", {}, {});
  const v1::RunbookEntry web_b =
      entry("web-b", "DiskUsageWarning", {"web"}, {});
  const v1::RunbookEntry any_host =
      entry("any-host", "HostDiskFull", {}, {"DiskUsageWarning"});
  for (const std::vector<v1::RunbookEntry>& entries :
       {std::vector<v1::RunbookEntry>{web_a, web_b, any_host},
        std::vector<v1::RunbookEntry>{any_host, web_b, web_a}}) {
    RunbookMatch tie = MatchEntry("DiskUsageWarning", {"web"}, entries);
    EXPECT_EQ(tie.entry, nullptr);
    EXPECT_TRUE(tie.ambiguous);
    ASSERT_EQ(tie.candidates.size(), 2u);
    // On a host without the role, the entry for any host is the one.
    RunbookMatch db = MatchEntry("DiskUsageWarning", {"db"}, entries);
    ASSERT_NE(db.entry, nullptr);
    EXPECT_EQ(db.entry->id(), "any-host");
  }
  // One entry for the host's role beats one for any host.
  const std::vector<v1::RunbookEntry> entries = {any_host, web_b};
  RunbookMatch specific = MatchEntry("DiskUsageWarning", {"web"}, entries);
  ASSERT_NE(specific.entry, nullptr);
  EXPECT_EQ(specific.entry->id(), "web-b");
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
          // Matched exactly: a name or role with a blank never would be.
          {R"(entry { id: "a" alert: "x" roles: "salt master" })",
           "roles \"salt master\" must be one word"},
          {R"(entry { id: "a" alert: "x" alert_names: "" })",
           "alert_names \"\" must be one word"},
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
