// Runbook procedures: alert triage on the on-call document's own examples,
// import of the document itself, and validation of the repository's
// runbooks directory against the real opsctl commands.

#include <climits>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/system/proc_file.h"
#include "controller/alerts/alert_source.h"
#include "controller/commands/command.h"
#include "controller/output/terminal.h"
#include "controller/runbook/alert_triage.h"
#include "controller/runbook/markdown_import.h"
#include "controller/runbook/runbook_library.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

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

// Issue 21, item 3: what Slack and e-mail show for a group of alerts.
TEST(AlertTriageTest, AGroupOfTwoNamesBothHosts) {
  // Grafana's message: one "Labels:" list per alert.
  std::vector<Alert> grafana = ParseAlerts(
      "[FIRING:2] DiskUsageWarning (production xqwatcher)\n"
      "**Firing**\n"
      "Value: A=85.02\nLabels:\n - alertname = DiskUsageWarning\n"
      " - device = /dev/root\n - instance = ip-10-7-0-78:9100\n"
      " - mountpoint = /\n"
      "Value: A=91.3\nLabels:\n - alertname = DiskUsageWarning\n"
      " - device = /dev/nvme1n1\n - instance = ip-10-7-0-79:9100\n"
      " - mountpoint = /edx/var\n");
  ASSERT_EQ(grafana.size(), 2u);
  EXPECT_EQ(grafana[0].host, "ip-10-7-0-78");
  EXPECT_EQ(grafana[0].mountpoint, "/");
  EXPECT_EQ(grafana[1].host, "ip-10-7-0-79");
  EXPECT_EQ(grafana[1].mountpoint, "/edx/var");
  EXPECT_EQ(grafana[1].device, "/dev/nvme1n1");
  for (const Alert& alert : grafana) {
    EXPECT_EQ(alert.name, "DiskUsageWarning");
    EXPECT_FALSE(alert.resolved);
  }
  // A subject and descriptions naming the two hosts.
  std::vector<Alert> described = ParseAlerts(
      "[Prometheus]: [FIRING:2] MemoryUsageWarning operations-qa (memory "
      "integrations/linux_host warning)\n"
      "Memory usage on ip-10-1-3-33 has been at 0.93 for 2 hours.\n"
      "Memory usage on ip-10-1-3-34 has been at 0.95 for 2 hours.\n");
  ASSERT_EQ(described.size(), 2u);
  EXPECT_EQ(described[0].host, "ip-10-1-3-33");
  EXPECT_EQ(described[1].host, "ip-10-1-3-34");
  EXPECT_EQ(described[1].environment, "qa");
  // "[FIRING:1]" is one alert, whatever other hosts its text quotes.
  EXPECT_EQ(ParseAlerts("[FIRING:1] DiskUsageWarning (ip-10-7-0-78) copied "
                        "from ip-10-7-0-99")
                .size(),
            1u);
}

TEST(AlertTriageTest, ResolvedIsReadAsResolved) {
  std::vector<Alert> resolved = ParseAlerts(
      "[Prometheus]: [RESOLVED] DiskUsageWarning mitx-production (xqwatcher "
      "filesystem /dev/root ext4 ip-10-7-0-78 integrations/linux_hos");
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_TRUE(resolved[0].resolved);
  EXPECT_EQ(resolved[0].boiled, "DiskUsageWarning xqwatcher");
  EXPECT_EQ(resolved[0].host, "ip-10-7-0-78");
  // Grafana's mixed group: the part under "**Resolved**" is resolved.
  std::vector<Alert> mixed = ParseAlerts(
      "[FIRING:1, RESOLVED:1] DiskUsageWarning\n**Firing**\nLabels:\n"
      " - instance = ip-10-7-0-78\n**Resolved**\nLabels:\n"
      " - instance = ip-10-7-0-79\n");
  ASSERT_EQ(mixed.size(), 2u);
  EXPECT_FALSE(mixed[0].resolved);
  EXPECT_EQ(mixed[0].host, "ip-10-7-0-78");
  EXPECT_TRUE(mixed[1].resolved);
  EXPECT_EQ(mixed[1].host, "ip-10-7-0-79");
  // Firing then resolved in one paste: each as it says.
  std::vector<Alert> both = ParseAlerts(
      "[FIRING:1] MemoryUsageWarning operations-qa (memory ip-10-1-3-33)\n"
      "[RESOLVED] MemoryUsageWarning operations-qa (memory ip-10-1-3-33)\n");
  ASSERT_EQ(both.size(), 2u);
  EXPECT_FALSE(both[0].resolved);
  EXPECT_TRUE(both[1].resolved);
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

// The hosts of the seed's alerts and their inventory roles.
const std::map<std::string, std::vector<std::string>>& SeedRoles() {
  static const auto* const kRoles =
      new std::map<std::string, std::vector<std::string>>{
          {"ip-10-1-3-33", {"salt-master"}},
          {"ip-10-7-0-78", {"xqwatcher"}},
          {"ip-10-13-1-59", {"reddit"}},
          {"ip-10-13-3-50", {"odl-video-service"}}};
  return *kRoles;
}

// Issue 21, item 3: every heading of the on-call document, pasted as it is
// written, finds its entry (with the inventory's roles for a host it names).
TEST_F(RepositoryRunbooksTest, EverySeedHeadingPastedVerbatimFindsItsEntry) {
  const std::map<std::string, std::string> expected = {
      {"MemoryUsageWarning operations-<ENVIRONMENT>", "salt-memory"},
      {"DiskUsageWarning xqwatcher", "xqwatcher-disk"},
      {"[Prometheus]: [FIRING:1] InvalidAccessKeyProduction apps-production "
       "(odl-video-service critical)",
       "ovs-invalid-access-key"},
      {"Request by deeveloper to add videos", "ovs-add-videos"},
      {"[Prometheus]: [FIRING:1] AlternateInvalidAccessKeyProduction "
       "production (bootcamp-ecommerce critical)",
       "bootcamp-heroku-credentials"},
      {"Task handler raised error: \"OperationalError(1045, \"Access denied "
       "for user 'v-edxa-fmT0KbL5X'@'10.7.0.237' (using password: YES)",
       "mitx-vault-credentials"},
      {"ApiException hubspot_xpro.tasks.sync_contact_with_hubspot",
       "xpro-hubspot-key"},
      {"Cybersource credentials potentially out of date",
       "mitxonline-cybersource"},
      {"Grading Celery Task Failed (STUB entry. Needs love)",
       "mitxonline-grading-celery"},
      {"[Prometheus]: [FIRING:1] DiskUsageWarning production-apps (reddit "
       "filesystem /dev/nvme0n1p1 ext4 ip-10-13-1-59 integrations/linux_",
       "reddit-disk-pgbouncer"},
      {"[Pingdom] Open Discussions production home page has an alert",
       "reddit-disk-pgbouncer"},
  };
  // The headings as the document has them, read from it.
  absl::StatusOr<std::string> text =
      ReadProcFile("tests/testdata/oncall_runbook.md");
  ASSERT_TRUE(text.ok());
  int headings = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::ConsumePrefix(&line, "### ")) continue;
    ++headings;
    auto it = expected.find(std::string(line));
    ASSERT_NE(it, expected.end())
        << "a heading this test does not know: " << line;
    std::vector<Alert> alerts = ParseAlerts(line);
    ASSERT_EQ(alerts.size(), 1u) << line;
    auto roles = SeedRoles().find(alerts[0].host);
    const RunbookMatch match = MatchPastedAlert(
        alerts[0],
        roles == SeedRoles().end() ? std::vector<std::string>{} : roles->second,
        library_->entries());
    ASSERT_NE(match.entry, nullptr) << line;
    EXPECT_EQ(match.entry->id(), it->second) << line;
  }
  EXPECT_EQ(headings, static_cast<int>(expected.size()));
}

TEST_F(RepositoryRunbooksTest, AHostsAlertIsNeverMatchedOnItsWords) {
  // The Salt masters' heading with a web host in it: the words say
  // "operations", the host is not a Salt master.
  Alert alert = ParseAlerts(
      "[FIRING:1] MemoryUsageWarning operations-qa (memory ip-10-9-9-9)")[0];
  EXPECT_EQ(MatchPastedAlert(alert, {"web"}, library_->entries()).entry,
            nullptr);
  EXPECT_EQ(MatchPastedAlert(alert, {}, library_->entries()).entry, nullptr);
  // Without a host, the same words find the entry, to be read; nothing can
  // run on it (triage --run needs a host of the inventory).
  alert.host.clear();
  const RunbookMatch shown = MatchPastedAlert(alert, {}, library_->entries());
  ASSERT_NE(shown.entry, nullptr);
  EXPECT_EQ(shown.entry->id(), "salt-memory");
}

// Issue 21, item 2: each entry an alert chooses, from each way its alert
// arrives today, on a host with the entry's role, and never on one
// without it.
TEST_F(RepositoryRunbooksTest, TodaysAlertsFindTheirEntriesInEveryForm) {
  struct Case {
    std::string entry, alertname, host, extra_labels, slack;
  };
  const std::vector<Case> cases = {
      {"salt-memory", "MemoryUsageWarning", "ip-10-1-3-33",
       R"(,"environment":"qa","job":"integrations/linux_host")",
       "[Prometheus]: [FIRING:1] MemoryUsageWarning operations-qa (memory "
       "ip-10-1-3-33 integrations/linux_host warning)"},
      {"xqwatcher-disk", "DiskUsageWarning", "ip-10-7-0-78",
       R"(,"mountpoint":"/","device":"/dev/root")",
       "[FIRING:1] - DiskUsageWarning\nDescription - Filesystem on /dev/root "
       "at ip-10-7-0-78 is 85.02% full.\n"},
      {"reddit-disk-pgbouncer", "DiskUsageWarning", "ip-10-13-1-59",
       R"(,"mountpoint":"/","device":"/dev/nvme0n1p1")",
       "[Prometheus]: [FIRING:1] DiskUsageWarning production-apps (reddit "
       "filesystem /dev/nvme0n1p1 ext4 ip-10-13-1-59 integrations/linux_"},
      {"ovs-invalid-access-key", "InvalidAccessKeyProduction", "ip-10-13-3-50",
       "",
       "[FIRING:1] - InvalidAccessKeyProduction\n - instance = "
       "ip-10-13-3-50\n"},
  };
  for (const Case& c : cases) {
    const std::vector<std::string> role = SeedRoles().at(c.host);
    const std::string labels =
        absl::StrCat(R"({"alertname":")", c.alertname, R"(","instance":")",
                     c.host, R"(:9100")", c.extra_labels, "}");
    const std::string alertmanager = absl::StrCat(
        R"({"version":"4","status":"firing","receiver":"opsctld",)",
        R"("externalURL":"http://alertmanager:9093","alerts":[)",
        R"({"status":"firing","labels":)", labels,
        R"(,"annotations":{},"startsAt":"2026-12-01T20:00:00Z"}]})");
    const std::string grafana = absl::StrCat(
        R"({"version":"1","orgId":1,"status":"firing","state":"alerting",)",
        R"("title":"[FIRING:1] )", c.alertname, R"(","alerts":[)",
        R"({"status":"firing","labels":)", labels,
        R"(,"annotations":{"description":"on )", c.host,
        R"("},"startsAt":"2026-12-01T20:00:00Z","values":{"A":93}}]})");
    for (const std::string& body : {alertmanager, grafana}) {
      absl::StatusOr<AlertNotification> parsed = ParseAlertNotification(body);
      ASSERT_TRUE(parsed.ok()) << parsed.status() << body;
      ASSERT_EQ(parsed->alerts.size(), 1u);
      const Alert alert = AlertFromLabels(parsed->alerts[0].labels,
                                          parsed->alerts[0].annotations);
      EXPECT_EQ(alert.host, c.host);
      const RunbookMatch match =
          MatchEntry(alert.name, role, library_->entries());
      ASSERT_NE(match.entry, nullptr) << c.entry << " " << parsed->source;
      EXPECT_EQ(match.entry->id(), c.entry) << parsed->source;
      // The diagnosis opsctld runs when the alert arrives.
      EXPECT_EQ(
          c.entry == "ovs-invalid-access-key",
          std::none_of(match.entry->diagnosis().begin(),
                       match.entry->diagnosis().end(),
                       [](const v1::RunbookStep& s) { return s.automatic(); }))
          << c.entry;
      // A host without the role never gets it, in any form.
      for (const std::vector<std::string>& other :
           std::vector<std::vector<std::string>>{{}, {"web"}, {"base"}}) {
        const RunbookMatch elsewhere =
            MatchEntry(alert.name, other, library_->entries());
        EXPECT_EQ(elsewhere.entry, nullptr) << c.entry;
      }
    }
    std::vector<Alert> pasted = ParseAlerts(c.slack);
    ASSERT_EQ(pasted.size(), 1u) << c.slack;
    EXPECT_EQ(pasted[0].host, c.host) << c.slack;
    const RunbookMatch from_text =
        MatchPastedAlert(pasted[0], role, library_->entries());
    ASSERT_NE(from_text.entry, nullptr) << c.slack;
    EXPECT_EQ(from_text.entry->id(), c.entry) << c.slack;
    EXPECT_EQ(MatchPastedAlert(pasted[0], {"web"}, library_->entries()).entry,
              nullptr)
        << c.slack;
  }
}

// Lower-case words separated by one space: how instructions are compared
// (an entry may rewrap, quote or punctuate the document's sentence).
std::string Normalized(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (absl::ascii_isalnum(c)) {
      out.push_back(absl::ascii_tolower(c));
    } else if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// One "### heading" of the document and what follows it, up to the next.
struct SeedSection {
  std::string product;
  std::string heading;
  std::string body;
};

std::vector<SeedSection> SeedSections(absl::string_view document) {
  std::vector<SeedSection> sections;
  std::string product;
  bool in_products = false;
  for (absl::string_view line : absl::StrSplit(document, '\n')) {
    if (absl::StartsWith(line, "# ")) in_products = line == "# Products";
    if (!in_products) continue;
    if (absl::ConsumePrefix(&line, "## ")) {
      product = std::string(line);
    } else if (absl::ConsumePrefix(&line, "### ")) {
      // Consecutive headings are one entry's (the Reddit case).
      if (!sections.empty() &&
          sections.back().body.find_first_not_of(" \n") == std::string::npos)
        continue;
      sections.push_back({product, std::string(line), ""});
    } else if (!sections.empty()) {
      absl::StrAppend(&sections.back().body, line, "\n");
    }
  }
  return sections;
}

// The programs a line of the document starts with when it is a command to
// type (code blocks also hold output).
bool IsCommand(absl::string_view line) {
  for (const char* program :
       {"ssh ", "sudo ", "salt ", "heroku ", "./manage.py ", "python ",
        "systemctl ", "docker ", "free ", "df ", "du ", "rm ", "ls ", "cd "}) {
    if (absl::StartsWith(line, program)) return true;
  }
  return false;
}

// Each command of the document's section: lines of code blocks after a
// shell prompt ("root@ip-10-7-0-78:~# df -h") or starting with a program,
// and inline code that starts with one (`sudo docker compose ps`).
std::vector<std::string> SeedCommands(absl::string_view body) {
  static const re2::RE2 kPrompt(R"(^\S+@\S+:[^$#\s]*[$#]\s*(.*)$)");
  static const re2::RE2 kInline("`([^`\n]+)`");
  std::vector<std::string> commands;
  bool in_code = false;
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "```")) {
      in_code = !in_code;
      continue;
    }
    if (in_code) {
      std::string command;
      if (!re2::RE2::FullMatch(re2::StringPiece(line.data(), line.size()),
                               kPrompt, &command))
        command = std::string(line);
      // The document's own remarks: "df -h   <<<<<< offending filesystem".
      command = std::string(absl::StripAsciiWhitespace(
          absl::string_view(command).substr(0, command.find("<<<"))));
      if (IsCommand(command)) commands.push_back(command);
      continue;
    }
    re2::StringPiece rest(line.data(), line.size());
    std::string code;
    while (re2::RE2::FindAndConsume(&rest, kInline, &code)) {
      if (IsCommand(code)) commands.push_back(code);
    }
  }
  return commands;
}

// Commands of the document that an entry does as an opsctl step instead:
// the step (its arguments after "opsctl") that replaces each.
const std::map<std::string, std::string>& ReplacedCommands() {
  static const auto* const kReplaced = new std::map<std::string, std::string>{
      // The agent on the alerting host replaces logging in to it.
      {"ssh -l cpatti salt-qa.odl.mit.edu", "mem {target}"},
      {"free -h", "mem {target}"},
      {"systemctl restart salt-master", "restart {target} salt-master.service"},
      {"sudo ssh -i /etc/salt/keys/aws/salt-production.pem ubuntu@10.7.0.78",
       "df {target}"},
      {"sudo su -", "df {target}"},
      {"df -h", "df {target}"},
      {"cd /edx/var", "du {target} /edx/var"},
      {"du -h | sort -hr | head", "du {target} /edx/var --top"},
      {"cd log/xqwatcher/",
       "truncate {target} /edx/var/log/xqwatcher/xqwatcher.log"},
      {"ls -tlrha", "du {target} /edx/var"},
      // Truncation frees the space while supervisor still holds the file.
      {"rm xqwatcher.log",
       "truncate {target} /edx/var/log/xqwatcher/xqwatcher.log"},
      {"systemctl restart supervisor.service",
       "restart {target} supervisor.service"},
      // The restart reports where the unit ended.
      {"systemctl status supervisor.service",
       "restart {target} supervisor.service"},
      {"ls -lthra", "df {target} --mount {mountpoint}"},
      {"df -h .", "df {target} --mount {mountpoint} --fail-above"},
      {"sudo docker compose ps", "exec {target} ovs-compose-ps"},
      {"sudo docker compose exec -it app /bin/bash",
       "exec {target} add-hls-video"},
      {"python ./manage.py add_hls_video_to_edx --edx-course-id "
       "course-v1:xPRO+DECA_Boeing+SPOC_R0",
       "exec {target} add-hls-video --param course={course}"},
      {"ssh salt-production.odl.mit.edu",
       "exec role:salt-master,env:production salt-state"},
      {"salt proxy-bootcamps-production state.sls "
       "heroku.update_heroku_config",
       "salt-state --param target=proxy-bootcamps-production --param "
       "states=heroku.update_heroku_config"},
      {"sudo salt proxy-bootcamps-production state.sls "
       "heroku.update_heroku_config",
       "salt-state --param target=proxy-bootcamps-production --param "
       "states=heroku.update_heroku_config"},
      {"salt reddit-production* state.sls reddit.config,pgbouncer",
       "salt-state-test --param target=reddit-production* --param "
       "states=reddit.config,pgbouncer"},
      {"salt reddit-production* state.sls reddit.config",
       "salt-state --param target=reddit-production* --param "
       "states=reddit.config"},
  };
  return *kReplaced;
}

// Issue 21, item 6: nothing of the document goes missing. Each command of a
// section is in its entries (the one its heading finds and the others of
// its product, such as the Hubspot sync) or replaced by a named opsctl
// step; each link and e-mail address is there as written; each emphasized
// warning is there in words.
TEST_F(RepositoryRunbooksTest, EverySeedInstructionIsInItsEntryOrReplaced) {
  absl::StatusOr<std::string> document =
      ReadProcFile("tests/testdata/oncall_runbook.md");
  ASSERT_TRUE(document.ok());
  static const re2::RE2 kUrl(R"((https?://[^\s)]+))");
  static const re2::RE2 kMail(R"(<([^<>\s]+@[^<>\s]+)>)");
  static const re2::RE2 kEmphasis(R"((?:^|\s)_([^_\n]+)_)");
  int commands = 0, links = 0, warnings = 0;
  const std::vector<SeedSection> sections = SeedSections(*document);
  ASSERT_EQ(sections.size(), 10u);
  for (const SeedSection& section : sections) {
    std::vector<Alert> alerts = ParseAlerts(section.heading);
    auto roles = SeedRoles().find(alerts.at(0).host);
    const RunbookMatch match = MatchPastedAlert(
        alerts[0],
        roles == SeedRoles().end() ? std::vector<std::string>{} : roles->second,
        library_->entries());
    ASSERT_NE(match.entry, nullptr) << section.heading;
    std::string text, steps;
    for (const v1::RunbookEntry& entry : library_->entries()) {
      if (entry.product() != section.product) continue;
      absl::StrAppend(&text, entry.summary(), "\n", entry.alert(), "\n");
      for (const auto* phase :
           {&entry.diagnosis(), &entry.mitigation(), &entry.verification()}) {
        for (const v1::RunbookStep& step : *phase) {
          absl::StrAppend(&text, step.title(), "\n", step.manual(), "\n");
          absl::StrAppend(&steps, absl::StrJoin(step.opsctl(), " "), "\n");
        }
      }
    }
    const std::string words = Normalized(text);
    for (const std::string& command : SeedCommands(section.body)) {
      ++commands;
      auto replaced = ReplacedCommands().find(command);
      if (replaced != ReplacedCommands().end()) {
        EXPECT_THAT(steps, HasSubstr(replaced->second))
            << section.heading << ": `" << command << "`";
      } else {
        EXPECT_THAT(words, HasSubstr(Normalized(command)))
            << section.heading << ": `" << command << "`";
      }
    }
    // Links in code blocks are output shown (supervisord's docs, edX's
    // answer), not instructions.
    std::string prose;
    bool in_code = false;
    for (absl::string_view line : absl::StrSplit(section.body, '\n')) {
      if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "```"))
        in_code = !in_code;
      else if (!in_code)
        absl::StrAppend(&prose, line, "\n");
    }
    re2::StringPiece rest(prose);
    std::string found;
    while (re2::RE2::FindAndConsume(&rest, kUrl, &found)) {
      ++links;
      // A sentence's full stop is not part of the link.
      while (absl::EndsWith(found, ".")) found.pop_back();
      EXPECT_THAT(text, HasSubstr(found)) << section.heading;
    }
    rest = re2::StringPiece(prose);
    while (re2::RE2::FindAndConsume(&rest, kMail, &found)) {
      ++links;
      EXPECT_THAT(text, HasSubstr(found)) << section.heading;
    }
    rest = re2::StringPiece(prose);
    while (re2::RE2::FindAndConsume(&rest, kEmphasis, &found)) {
      if (found == "Diagnosis" || found == "Mitigation") continue;
      ++warnings;
      EXPECT_THAT(words, HasSubstr(Normalized(found))) << section.heading;
    }
  }
  // What the document holds today; a count that drops means the parsing
  // above stopped seeing instructions, not that they are all there.
  EXPECT_EQ(commands, 28);
  EXPECT_EQ(links, 11);
  EXPECT_EQ(warnings, 2);
}

// The test above reads the repository's copy; this says it is the team's
// document, when the checkout sits beside it (../shared/seed).
TEST(SeedDocumentTest, TheTestDataCopyIsTheTeamsDocument) {
  char resolved[PATH_MAX];
  ASSERT_NE(realpath("tests/testdata/oncall_runbook.md", resolved), nullptr);
  absl::string_view source(resolved);
  ASSERT_TRUE(absl::ConsumeSuffix(&source, "/tests/testdata/oncall_runbook.md"))
      << resolved;
  const std::string seed =
      absl::StrCat(source, "/../shared/seed/000_41b361a5672f18e7.txt");
  std::ifstream in(seed);
  if (!in) GTEST_SKIP() << seed << " cannot be read from here";
  std::stringstream document;
  document << in.rdbuf();
  absl::StatusOr<std::string> copy =
      ReadProcFile("tests/testdata/oncall_runbook.md");
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(*copy, document.str())
      << "tests/testdata/oncall_runbook.md differs from " << seed
      << ": copy the document again and update the entries";
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

// The steps a runbook shows are shown as one would type them: a value with a
// space is one argument, an empty one is '' (an alert's mountpoint "x
// --top=9" showed as two flags: our attack run).
TEST(ShownArgumentsTest, ValuesShowAsTheArgumentsTheyAre) {
  EXPECT_EQ(ShownArguments({"df", "web-1", "--mount", "/edx/var", "-x"}),
            "df web-1 --mount /edx/var -x");
  EXPECT_EQ(ShownArguments({"df", "web-1", "--mount", ""}),
            "df web-1 --mount ''");
  EXPECT_EQ(ShownArguments({"df", "web-1", "--mount", "x --top=9"}),
            "df web-1 --mount 'x --top=9'");
  EXPECT_EQ(ShownArguments({"du", "h", "/var/it's"}), "du h '/var/it'\\''s'");
  EXPECT_EQ(ShownArguments({"du", "h", "/a\x1b]0;t\u200b"}),
            "du h '/a\\x1b]0;t\\u200b'");
}

}  // namespace
}  // namespace opsagent
