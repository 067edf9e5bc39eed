// Alert notifications as senders write them, and the incidents they make,
// on real SQLite files.

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "controller/alerts/alert_source.h"
#include "controller/alerts/incident_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/sqlite_file.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

constexpr char kAlertmanager[] = R"({
  "version": "4", "groupKey": "{}:{alertname=\"DiskUsageWarning\"}",
  "truncatedAlerts": 0, "status": "firing", "receiver": "opsctld",
  "groupLabels": {"alertname": "DiskUsageWarning"},
  "commonLabels": {"alertname": "DiskUsageWarning", "severity": "warning"},
  "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
  "alerts": [{
    "status": "firing",
    "labels": {"alertname": "DiskUsageWarning", "instance": "ip-10-7-0-78",
               "device": "/dev/root", "mountpoint": "/", "environment": "production",
               "application": "xqwatcher", "job": "integrations/linux_host"},
    "annotations": {"description": "Filesystem on /dev/root at ip-10-7-0-78 is 85.02% full."},
    "startsAt": "2026-12-01T20:00:00.123456789Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
    "fingerprint": "5F2C0D8E1A3B4C6D"
  }]
})";

TEST(AlertNotificationTest, ReadsAlertmanagersWebhook) {
  absl::StatusOr<AlertNotification> parsed =
      ParseAlertNotification(kAlertmanager);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->source, "alertmanager");
  EXPECT_EQ(parsed->external_url, "http://alertmanager:9093");
  ASSERT_EQ(parsed->alerts.size(), 1u);
  const ReceivedAlert& alert = parsed->alerts[0];
  EXPECT_EQ(alert.status, "firing");
  EXPECT_EQ(alert.labels.at("mountpoint"), "/");
  EXPECT_EQ(alert.starts_at_ms, 1796155200123);
  EXPECT_EQ(alert.ends_at_ms, 0);  // Alertmanager's zero time
  EXPECT_EQ(alert.fingerprint, "5f2c0d8e1a3b4c6d");
}

TEST(AlertNotificationTest, ReadsGrafanasWebhookAndMakesUpMissingFingerprints) {
  const std::string grafana = R"({"receiver":"x","status":"firing","orgId":1,
    "version":"1","title":"[FIRING:2] DiskUsageWarning","state":"alerting",
    "message":"**Firing**","groupLabels":{},"commonLabels":{},
    "commonAnnotations":{},"externalURL":"https://grafana/","alerts":[
    {"status":"firing","labels":{"alertname":"DiskUsageWarning","instance":"a"},
     "annotations":{"description":"line one\nline two"},
     "startsAt":"2026-12-01T20:00:00Z","endsAt":"0001-01-01T00:00:00Z",
     "values":{"A":85.02},"silenceURL":"https://grafana/s","dashboardURL":""},
    {"status":"firing","labels":{"alertname":"DiskUsageWarning","instance":"b"},
     "startsAt":"2026-12-01T20:00:00Z"}]})";
  absl::StatusOr<AlertNotification> parsed = ParseAlertNotification(grafana);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->source, "grafana");
  ASSERT_EQ(parsed->alerts.size(), 2u);
  EXPECT_EQ(parsed->alerts[0].annotations.at("description"),
            "line one\nline two");
  // The same labels make the same stand-in, other labels another.
  EXPECT_EQ(parsed->alerts[0].fingerprint.size(), 16u);
  EXPECT_NE(parsed->alerts[0].fingerprint, parsed->alerts[1].fingerprint);
  EXPECT_EQ(ParseAlertNotification(grafana)->alerts[1].fingerprint,
            parsed->alerts[1].fingerprint);
}

TEST(AlertNotificationTest, RefusesWhatIsNotANotificationSayingWhere) {
  const auto alert = [](const std::string& fields) {
    return absl::StrCat(R"({"version":"4","alerts":[{)", fields, "}]}");
  };
  const std::string ok_fields =
      R"("status":"firing","labels":{"alertname":"X"},"startsAt":"2026-12-01T20:00:00Z")";
  struct Case {
    std::string body;
    std::string error;
  };
  for (
      const Case& c : std::vector<Case>{
          {"", "not valid JSON"},
          {"[1,2]", "must be a JSON object"},
          {R"({"alerts":[]})", "neither Alertmanager"},
          // A key twice: a proxy and opsctld could each read another.
          {R"({"version":"4","version":"4","alerts":[]})",
           "names the same key twice"},
          {R"({"version":4})", "version: must be a string"},
          {R"({"version":"4"})", "alerts: must be a non-empty array"},
          {R"({"version":"4","alerts":[7]})", "alerts[0]: must be an object"},
          {alert(
               R"("status":"pending","labels":{"alertname":"X"},"startsAt":"2026-12-01T20:00:00Z")"),
           "alerts[0].status: must be \"firing\" or \"resolved\""},
          {alert(
               R"("status":"firing","labels":{},"startsAt":"2026-12-01T20:00:00Z")"),
           "alerts[0].labels: has no alertname"},
          {alert(
               R"("status":"firing","labels":{"alertname":"X","bad-name":"y"},"startsAt":"2026-12-01T20:00:00Z")"),
           "is not a valid name"},
          {alert(
               R"("status":"firing","labels":{"alertname":"X\u001b[2J"},"startsAt":"2026-12-01T20:00:00Z")"),
           "alerts[0].labels.alertname: holds a control character"},
          {alert(
               R"("status":"firing","labels":{"alertname":3},"startsAt":"2026-12-01T20:00:00Z")"),
           "alerts[0].labels.alertname: must be a string"},
          {alert(
               R"("status":"firing","labels":{"alertname":"X"},"startsAt":"yesterday")"),
           "alerts[0].startsAt: \"yesterday\" is not an RFC 3339 time"},
          {alert(ok_fields + R"(,"fingerprint":"../../etc")"),
           "alerts[0].fingerprint: must be at most 64 hexadecimal digits"},
          {alert(ok_fields + R"(,"annotations":{"d":")" +
                 std::string(5000, 'x') + "\"}"),
           "longer than 4096 bytes"},
          {std::string(40, '[') + std::string(40, ']'),
           "nested deeper than 32"},
      }) {
    absl::StatusOr<AlertNotification> parsed = ParseAlertNotification(c.body);
    ASSERT_FALSE(parsed.ok()) << c.body.substr(0, 200);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status()));
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.error))
        << c.body.substr(0, 200);
  }
  std::string many = R"({"version":"4","alerts":[)";
  for (int i = 0; i < 1001; ++i)
    absl::StrAppend(&many, i ? "," : "", "{", ok_fields, "}");
  EXPECT_THAT(ParseAlertNotification(many + "]}").status().message(),
              HasSubstr("more than 1000"));
}

// A third kind of sender is one more class registered in one file: this
// one (a stand-in for a PagerDuty-like shape, declared in this test) reads
// {"event": {"name", "host"}}. The registered sources are asked in turn.
class ExampleSource : public AlertSource {
 public:
  absl::string_view name() const override { return "example"; }
  absl::string_view description() const override {
    return "the example's webhook (\"event\")";
  }
  absl::StatusOr<bool> Recognizes(const Json& root) const override {
    return root.contains("event");
  }
  absl::StatusOr<AlertNotification> Parse(const Json& root) const override {
    AlertNotification notification;
    notification.source = "example";
    const Json& event = root["event"];
    ReceivedAlert alert;
    alert.status = "firing";
    for (const char* field : {"name", "host"}) {
      absl::StatusOr<std::string> value =
          OptionalString(event, "event.", field);
      if (!value.ok()) return value.status();
      if (value->empty())
        return BadField(absl::StrCat("event.", field), "is required");
      alert.labels[field == std::string("name") ? "alertname" : "instance"] =
          *value;
    }
    notification.alerts.push_back(std::move(alert));
    return notification;
  }
};
OPSAGENT_ALERT_SOURCE(ExampleSource);

TEST(AlertSourceTest, EachRegisteredSourceReadsItsOwnBodies) {
  std::vector<std::string> names;
  for (const auto& source : AlertSources()) names.emplace_back(source->name());
  EXPECT_EQ(names,
            (std::vector<std::string>{"alertmanager", "example", "grafana"}));
  absl::StatusOr<AlertNotification> example = ParseAlertNotification(
      R"({"event":{"name":"SaltMasterMemory","host":"salt-qa"}})");
  ASSERT_TRUE(example.ok()) << example.status();
  EXPECT_EQ(example->source, "example");
  ASSERT_EQ(example->alerts.size(), 1u);
  EXPECT_EQ(example->alerts[0].labels.at("alertname"), "SaltMasterMemory");
  EXPECT_EQ(example->alerts[0].labels.at("instance"), "salt-qa");
  EXPECT_EQ(ParseAlertNotification(kAlertmanager)->source, "alertmanager");
  // Checked with the helpers every source shares, and refused whole.
  EXPECT_THAT(ParseAlertNotification(
                  R"({"event":{"name":"X\u001b[2J","host":"salt-qa"}})")
                  .status()
                  .message(),
              HasSubstr("event.name: holds a control character"));
  EXPECT_THAT(
      ParseAlertNotification(R"({"event":{"name":"X"}})").status().message(),
      HasSubstr("event.host: is required"));
  // A body none recognizes names what each takes.
  EXPECT_THAT(ParseAlertNotification(R"({"version":"2","alerts":[]})")
                  .status()
                  .message(),
              HasSubstr("neither Alertmanager's webhook (\"version\": \"4\") "
                        "nor the example's webhook (\"event\") nor Grafana's "
                        "webhook (\"version\": \"1\")"));
}

TEST(AlertLinksTest, KeepsOnlyHttpUrlsWithAHost) {
  for (const char* kept :
       {"https://grafana.example.net/d/abc?orgId=1&viewPanel=2",
        "http://prometheus:9090/graph?g0.expr=up%7Bjob%3D%22x%22%7D",
        "HTTPS://[2001:db8::1]:3000/d/x"}) {
    bool refused = false;
    EXPECT_EQ(SafeLink(kept, refused), kept);
    EXPECT_FALSE(refused) << kept;
  }
  for (const char* dropped :
       {"javascript:alert(1)", "JavaScript://%0aalert(1)",
        "data:text/html,<script>x</script>", "//evil.example/x", "https://",
        "https:///path", "ftp://files.example/x",
        "https://grafana.example.net@evil.example/",
        "https://a.example/\"onmouseover=x", "https://a.example/<b>",
        "https://a.example/x y", "https://a.example/\x01",
        "https://a.example/\xc3\xa9"}) {
    bool refused = false;
    EXPECT_EQ(SafeLink(dropped, refused), "") << dropped;
    EXPECT_TRUE(refused) << dropped;
  }
  bool refused = false;
  EXPECT_EQ(SafeLink(std::string("https://a.example/") + std::string(1100, 'a'),
                     refused),
            "");
  EXPECT_TRUE(refused);
  refused = false;
  EXPECT_EQ(SafeLink("", refused), "");
  EXPECT_FALSE(refused);  // none given is nothing refused
}

TEST(AlertNotificationTest, KeepsGrafanasLinksAndLeavesOutHostileOnes) {
  const std::string grafana = R"json({"status":"firing","version":"1",
    "externalURL":"https://grafana.example.net/","alerts":[
    {"status":"firing","labels":{"alertname":"DiskUsageWarning","instance":"a"},
     "startsAt":"2026-12-01T20:00:00Z",
     "generatorURL":"https://grafana.example.net/alerting/grafana/x/view",
     "dashboardURL":"https://grafana.example.net/d/disk",
     "panelURL":"https://grafana.example.net/d/disk?viewPanel=4",
     "silenceURL":"javascript:fetch('//evil.example')"}]})json";
  absl::StatusOr<AlertNotification> parsed = ParseAlertNotification(grafana);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const AlertLinks& links = parsed->alerts[0].links;
  EXPECT_EQ(links.generator,
            "https://grafana.example.net/alerting/grafana/x/view");
  EXPECT_EQ(links.external, "https://grafana.example.net/");
  EXPECT_EQ(links.dashboard, "https://grafana.example.net/d/disk");
  EXPECT_EQ(links.panel, "https://grafana.example.net/d/disk?viewPanel=4");
  EXPECT_EQ(links.silence, "");
  EXPECT_TRUE(links.refused);
}

class IncidentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db");
    auto store = IncidentStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  static TriagedAlert Alert(const std::string& status, const std::string& host,
                            const std::string& entry,
                            const std::string& fingerprint,
                            const std::string& alertname = "DiskUsageWarning") {
    TriagedAlert triaged;
    triaged.alert.status = status;
    triaged.alert.labels = {{"alertname", alertname}, {"instance", host}};
    triaged.alert.starts_at_ms = 1000;
    triaged.alert.ends_at_ms = status == "resolved" ? 5000 : 0;
    triaged.alert.fingerprint = fingerprint;
    triaged.source = "alertmanager";
    triaged.host = host;
    triaged.host_known = true;
    triaged.entry = entry;
    triaged.diagnosis = "pending";
    return triaged;
  }

  // How many incidents one page lists.
  int ListCount(bool include_resolved) const {
    v1::ListIncidentsRequest request;
    request.set_include_resolved(include_resolved);
    absl::StatusOr<v1::ListIncidentsReply> listed = store_->List(request);
    EXPECT_TRUE(listed.ok()) << listed.status();
    return listed.ok() ? listed->incidents_size() : -1;
  }

  // Everything the store shows: every incident with every page of its
  // alerts.
  std::string Snapshot() const {
    v1::ListIncidentsRequest request;
    request.set_include_resolved(true);
    request.set_limit(1000);
    absl::StatusOr<v1::ListIncidentsReply> listed = store_->List(request);
    EXPECT_TRUE(listed.ok()) << listed.status();
    std::string all = listed->DebugString();
    for (const v1::Incident& incident : listed->incidents()) {
      std::string cursor;
      do {
        absl::StatusOr<v1::Incident> page = store_->Get(incident.id(), cursor);
        EXPECT_TRUE(page.ok()) << page.status();
        if (!page.ok()) break;
        all += page->DebugString();
        cursor = page->alerts_next_cursor();
      } while (!cursor.empty());
    }
    return all;
  }

  std::string path_;
  std::unique_ptr<IncidentStore> store_;
};

TEST_F(IncidentStoreTest,
       AGroupOpensOneIncidentPerHostAndRepeatsChangeNothing) {
  const std::vector<TriagedAlert> group = {
      Alert("firing", "web-1", "web-disk", "01"),
      Alert("firing", "web-1", "web-disk", "02"),  // another mount, same host
      Alert("firing", "web-2", "web-disk", "03")};
  absl::StatusOr<IntakeResult> first = store_->Record(group, "am", 2000);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->opened, (std::vector<std::string>{"INC-1", "INC-2"}));
  EXPECT_EQ(first->joined, 1);
  absl::StatusOr<IntakeResult> again = store_->Record(group, "am", 3000);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->opened.empty());
  EXPECT_EQ(again->repeated, 3);
  absl::StatusOr<v1::Incident> web1 = store_->Get("INC-1");
  ASSERT_TRUE(web1.ok());
  EXPECT_EQ(web1->host(), "web-1");
  EXPECT_EQ(web1->alerts_size(), 2);
  EXPECT_EQ(web1->diagnosis().state(), "pending");
  EXPECT_EQ(ListCount(false), 2u);
}

TEST_F(IncidentStoreTest, ItResolvesWhenEveryAlertInItHas) {
  ASSERT_TRUE(store_
                  ->Record({Alert("firing", "web-1", "web-disk", "01"),
                            Alert("firing", "web-1", "web-disk", "02",
                                  "DiskUsageCritical")},
                           "am", 2000)
                  .ok());
  absl::StatusOr<IntakeResult> one = store_->Record(
      {Alert("resolved", "web-1", "web-disk", "01")}, "am", 6000);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->resolved, 1);
  EXPECT_TRUE(one->closed.empty());
  EXPECT_EQ(store_->Get("INC-1")->status(), "open");
  absl::StatusOr<IntakeResult> both = store_->Record(
      {Alert("resolved", "web-1", "web-disk", "02", "DiskUsageCritical"),
       Alert("resolved", "web-9", "web-disk", "99")},
      "am",  // never seen firing
      7000);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->closed, std::vector<std::string>{"INC-1"});
  EXPECT_EQ(both->ignored, 1);
  absl::StatusOr<v1::Incident> closed = store_->Get("INC-1");
  EXPECT_EQ(closed->status(), "resolved");
  EXPECT_EQ(closed->resolved_at_ms(), 5000);
  EXPECT_EQ(ListCount(false), 0);
  // The alert fires again later: a new incident.
  TriagedAlert again = Alert("firing", "web-1", "web-disk", "01");
  again.alert.starts_at_ms = 9000;
  EXPECT_EQ(store_->Record({again}, "am", 9500)->opened,
            std::vector<std::string>{"INC-2"});
}

// What a notification wrote is what its sender's write budget is charged:
// a new incident's columns (4 KB alert names and mountpoints were stored
// uncharged, our attack run), each status flip and closing; a repeat
// writes nothing.
TEST_F(IncidentStoreTest, WhatANotificationWroteIsCountedForItsSender) {
  TriagedAlert big = Alert("firing", "web-1", "web-disk", "01");
  big.alert.labels["mountpoint"] = std::string(4000, 'm');
  absl::StatusOr<IntakeResult> opened = store_->Record({big}, "am", 2000);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_GE(opened->bytes_recorded, 4000u);
  EXPECT_EQ(store_->Record({big}, "am", 2500)->bytes_recorded, 0u);
  TriagedAlert resolve = big;
  resolve.alert.status = "resolved";
  absl::StatusOr<IntakeResult> resolved = store_->Record({resolve}, "am", 3000);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->closed.size(), 1u);
  EXPECT_GE(resolved->bytes_recorded, 2 * 256u);  // the flip and the close
}

TEST_F(IncidentStoreTest, AFailedNotificationLeavesNothingBehind) {
  // The disk refuses the third row (as a full disk would): the first two
  // must not be kept either, so the sender's retry is counted once.
  ASSERT_TRUE(testing::ExecSqlite(
                  path_,
                  "CREATE TRIGGER refuse BEFORE INSERT ON incident_alerts "
                  "WHEN NEW.fingerprint = 'bad' BEGIN SELECT RAISE(ABORT, "
                  "'database or disk is full'); END;")
                  .ok());
  absl::StatusOr<IntakeResult> failed =
      store_->Record({Alert("firing", "web-1", "web-disk", "01"),
                      Alert("firing", "web-2", "web-disk", "02"),
                      Alert("firing", "web-3", "web-disk", "bad")},
                     "am", 2000);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("disk is full"));
  EXPECT_EQ(ListCount(true), 0);
  ASSERT_TRUE(testing::ExecSqlite(path_, "DROP TRIGGER refuse;").ok());
  absl::StatusOr<IntakeResult> retried =
      store_->Record({Alert("firing", "web-1", "web-disk", "01"),
                      Alert("firing", "web-2", "web-disk", "02"),
                      Alert("firing", "web-3", "web-disk", "bad")},
                     "am", 3000);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->opened.size(), 3u);
}

TEST_F(IncidentStoreTest, MadeUpHostsShareOneIncidentAndFutureStartsAreNow) {
  std::vector<TriagedAlert> flood;
  for (int i = 0; i < 50; ++i) {
    TriagedAlert alert =
        Alert("firing", absl::StrCat("nobody-", i), "", absl::StrCat(i));
    alert.host_known = false;
    alert.alert.starts_at_ms = 253402300799000;  // 9999-12-31
    flood.push_back(alert);
  }
  absl::StatusOr<IntakeResult> recorded = store_->Record(flood, "am", 2000);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(recorded->opened, std::vector<std::string>{"INC-1"});
  EXPECT_EQ(recorded->joined, 49);
  absl::StatusOr<v1::Incident> incident = store_->Get("INC-1");
  EXPECT_EQ(incident->alerts_size(), 50);
  EXPECT_EQ(incident->opened_at_ms(), 2000);
  // A known host's alerts that no entry answers share one too, whatever
  // their names.
  std::vector<TriagedAlert> names;
  for (int i = 0; i < 20; ++i)
    names.push_back(Alert("firing", "web-2", "", absl::StrCat("n", i),
                          absl::StrCat("Made", i)));
  EXPECT_EQ(store_->Record(names, "am", 2500)->opened,
            std::vector<std::string>{"INC-2"});
  // Another known host still gets its own.
  EXPECT_EQ(store_->Record({Alert("firing", "web-1", "", "known")}, "am", 3000)
                ->opened,
            std::vector<std::string>{"INC-3"});
}

TEST_F(IncidentStoreTest, DiagnosesLeftUnfinishedAreFoundAgain) {
  ASSERT_TRUE(store_
                  ->Record({Alert("firing", "web-1", "web-disk", "01"),
                            Alert("firing", "web-2", "web-disk", "02")},
                           "am", 2000)
                  .ok());
  v1::IncidentDiagnosis done;
  done.set_state("done");
  done.set_output("df ...");
  ASSERT_TRUE(store_->SetDiagnosis("INC-2", done).ok());
  absl::StatusOr<std::vector<v1::Incident>> unfinished =
      store_->UnfinishedDiagnoses();
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].id(), "INC-1");
  EXPECT_EQ(store_->Get("INC-2")->diagnosis().output(), "df ...");
  EXPECT_TRUE(absl::IsNotFound(store_->Get("INC-3").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Get("INC-x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Get("-1").status()));
}

// Issue 20, hole 3: alerts keyed by fingerprint and startsAt alone let a
// Grafana-shaped notification of 1,000 resolved alerts (each millisecond of
// the victim's start second, other labels) close a real Alertmanager
// incident for good.
TEST_F(IncidentStoreTest, OnlyTheAlertAsFirstSeenCanResolveIt) {
  TriagedAlert victim =
      Alert("firing", "web-1", "web-disk", "5f2c0d8e1a3b4c6d");
  victim.alert.starts_at_ms = 1796155200123;
  ASSERT_EQ(store_->Record({victim}, "alertmanager", 1796155201000)->opened,
            std::vector<std::string>{"INC-1"});
  const std::string before = Snapshot();
  const auto forged = [&](const std::string& source) {
    std::vector<TriagedAlert> alerts;
    for (int ms = 0; ms < 1000; ++ms) {
      TriagedAlert alert = Alert("resolved", "web-1", "web-disk",
                                 victim.alert.fingerprint, "Forged");
      alert.source = source;
      alert.alert.starts_at_ms = 1796155200000 + ms;
      alerts.push_back(alert);
    }
    return alerts;
  };
  // From another sender's token: none of its alerts is the victim.
  absl::StatusOr<IntakeResult> other =
      store_->Record(forged("grafana"), "grafana", 1796155202000);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->ignored, 1000);
  EXPECT_EQ(other->resolved, 0);
  EXPECT_TRUE(other->closed.empty());
  // With the victim's own sender's token: other labels, or another source
  // with the same labels, are refused.
  absl::StatusOr<IntakeResult> same =
      store_->Record(forged("grafana"), "alertmanager", 1796155202000);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->refused, 1);
  EXPECT_EQ(same->ignored, 999);
  EXPECT_TRUE(same->closed.empty());
  TriagedAlert relabelled = victim;
  relabelled.alert.status = "resolved";
  relabelled.source = "grafana";
  EXPECT_EQ(
      store_->Record({relabelled}, "alertmanager", 1796155203000)->refused, 1);
  relabelled.source = "alertmanager";
  relabelled.alert.labels["severity"] = "none";
  EXPECT_EQ(
      store_->Record({relabelled}, "alertmanager", 1796155203000)->refused, 1);
  // Refused input changed nothing.
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(store_->Get("INC-1")->status(), "open");
  // The next repeat of the still-firing alert is a repeat, and its real
  // resolve closes the incident.
  EXPECT_EQ(store_->Record({victim}, "alertmanager", 1796155204000)->repeated,
            1);
  TriagedAlert resolved = victim;
  resolved.alert.status = "resolved";
  resolved.alert.ends_at_ms = 1796155205000;
  EXPECT_EQ(store_->Record({resolved}, "alertmanager", 1796155205000)->closed,
            std::vector<std::string>{"INC-1"});
  absl::StatusOr<v1::Incident> incident = store_->Get("INC-1");
  ASSERT_EQ(incident->alerts_size(), 1);
  EXPECT_EQ(incident->alerts(0).sender(), "alertmanager");
}

TEST_F(IncidentStoreTest, AFiringRepeatOfAResolvedAlertReopensItsIncident) {
  const TriagedAlert firing = Alert("firing", "web-1", "web-disk", "01");
  ASSERT_TRUE(store_->Record({firing}, "am", 2000).ok());
  ASSERT_EQ(
      store_->Record({Alert("resolved", "web-1", "web-disk", "01")}, "am", 6000)
          ->closed,
      std::vector<std::string>{"INC-1"});
  absl::StatusOr<IntakeResult> again = store_->Record({firing}, "am", 7000);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->reopened, std::vector<std::string>{"INC-1"});
  EXPECT_EQ(again->repeated, 0);
  absl::StatusOr<v1::Incident> incident = store_->Get("INC-1");
  EXPECT_EQ(incident->status(), "open");
  EXPECT_EQ(incident->resolved_at_ms(), 0);
  EXPECT_EQ(incident->alerts(0).status(), "firing");
  EXPECT_EQ(incident->alerts(0).ends_at_ms(), 0);
  // Another sender cannot reopen it, nor resolve it.
  absl::StatusOr<IntakeResult> other = store_->Record(
      {Alert("resolved", "web-1", "web-disk", "01")}, "grafana", 8000);
  EXPECT_EQ(other->ignored, 1);
  EXPECT_EQ(store_->Get("INC-1")->status(), "open");
}

// Issue 20, hole 9: one notification (fire, resolve, fire, ...) opened 500
// incidents for one host.
TEST_F(IncidentStoreTest, ANotificationOpensAtMostOneIncidentPerHostAndEntry) {
  std::vector<TriagedAlert> churn;
  for (int i = 0; i < 500; ++i) {
    churn.push_back(Alert("firing", "web-1", "web-disk", absl::StrCat(i)));
    churn.push_back(Alert("resolved", "web-1", "web-disk", absl::StrCat(i)));
  }
  absl::StatusOr<IntakeResult> recorded = store_->Record(churn, "am", 2000);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(recorded->opened, std::vector<std::string>{"INC-1"});
  EXPECT_EQ(recorded->closed, std::vector<std::string>{"INC-1"});
  EXPECT_EQ(ListCount(true), 1);
  // Distinct hosts open one each, up to the cap; the rest are not recorded.
  std::vector<TriagedAlert> hosts;
  for (int i = 0; i < IncidentStore::kMaxOpenedPerNotification + 50; ++i)
    hosts.push_back(Alert("firing", absl::StrCat("host-", i), "web-disk",
                          absl::StrCat("h", i)));
  const std::string before = Snapshot();
  absl::StatusOr<IntakeResult> wide = store_->Record(hosts, "am", 3000);
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_EQ(wide->opened.size(),
            static_cast<size_t>(IncidentStore::kMaxOpenedPerNotification));
  EXPECT_EQ(wide->not_opened, 50);
  // Those not opened were not kept: sent again, they open then.
  absl::StatusOr<IntakeResult> rest = store_->Record(hosts, "am", 4000);
  EXPECT_EQ(rest->opened.size(), 50u);
  EXPECT_EQ(rest->repeated, IncidentStore::kMaxOpenedPerNotification);
  EXPECT_NE(Snapshot(), before);
}

// Issue 20, hole 4: 75 notifications of 4 alerts with big labels made one
// incident unreadable ("Received message larger than max").
TEST_F(IncidentStoreTest, AnIncidentKeepsItsFirstAndNewestAlertsPaged) {
  for (int notification = 0; notification < 75; ++notification) {
    std::vector<TriagedAlert> alerts;
    for (int i = 0; i < 4; ++i) {
      TriagedAlert alert = Alert("firing", "web-1", "web-disk",
                                 absl::StrCat(notification, "-", i));
      for (int label = 0; label < 62; ++label) {
        alert.alert.labels[absl::StrCat("l", label)] = std::string(4096, 'x');
        alert.alert.annotations[absl::StrCat("a", label)] =
            std::string(4096, 'y');
      }
      alerts.push_back(alert);
    }
    ASSERT_TRUE(store_->Record(alerts, "am", 2000 + notification).ok());
  }
  std::vector<v1::IncidentAlert> alerts;
  std::string cursor;
  int pages = 0;
  do {
    absl::StatusOr<v1::Incident> page = store_->Get("INC-1", cursor);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->ByteSizeLong(), IncidentStore::kMaxReplyBytes);
    EXPECT_EQ(page->alerts_folded(), 300u - 1 - IncidentStore::kMaxAlertsShown);
    for (const v1::IncidentAlert& alert : page->alerts()) {
      EXPECT_LE(alert.labels_json().size(), IncidentStore::kMaxAlertTextBytes);
      EXPECT_LE(alert.annotations_json().size(),
                IncidentStore::kMaxAlertTextBytes);
      EXPECT_TRUE(alert.text_cut());
      alerts.push_back(alert);
    }
    cursor = page->alerts_next_cursor();
    ++pages;
  } while (!cursor.empty() && pages < 1000);
  ASSERT_EQ(alerts.size(), 1u + IncidentStore::kMaxAlertsShown);
  EXPECT_EQ(alerts.front().fingerprint(), "0-0");  // the first
  EXPECT_EQ(alerts[1].fingerprint(), "50-0");      // then the newest 100
  EXPECT_EQ(alerts.back().fingerprint(), "74-3");
  // A folded alert still counts: the incident stays open while it fires.
  std::vector<TriagedAlert> resolves;
  for (int notification = 0; notification < 75; ++notification) {
    for (int i = 0; i < 4; ++i) {
      if (notification == 10 && i == 2) continue;
      TriagedAlert alert = Alert("resolved", "web-1", "web-disk",
                                 absl::StrCat(notification, "-", i));
      for (int label = 0; label < 62; ++label)
        alert.alert.labels[absl::StrCat("l", label)] = std::string(4096, 'x');
      resolves.push_back(alert);
    }
  }
  absl::StatusOr<IntakeResult> resolved = store_->Record(resolves, "am", 9000);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->resolved, 299);
  EXPECT_EQ(store_->Get("INC-1")->status(), "open");
}

TEST_F(IncidentStoreTest, ListsArePagedWithACursorAndSayHowManyRemain) {
  std::vector<TriagedAlert> alerts;
  for (int i = 0; i < 250; ++i)
    alerts.push_back(
        Alert("firing", absl::StrCat("host-", i), "web-disk", absl::StrCat(i)));
  for (size_t from = 0; from < alerts.size(); from += 50)
    ASSERT_TRUE(
        store_
            ->Record({alerts.begin() + from, alerts.begin() + from + 50}, "am",
                     2000)
            .ok());
  v1::ListIncidentsRequest request;
  absl::StatusOr<v1::ListIncidentsReply> first = store_->List(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->incidents_size(), 100);
  EXPECT_EQ(first->incidents(0).id(), "INC-250");
  EXPECT_EQ(first->next_cursor(), "INC-151");
  EXPECT_EQ(first->remaining(), 150u);
  request.set_after(first->next_cursor());
  request.set_limit(1000);
  absl::StatusOr<v1::ListIncidentsReply> rest = store_->List(request);
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->incidents_size(), 150);
  EXPECT_EQ(rest->incidents(0).id(), "INC-150");
  EXPECT_EQ(rest->next_cursor(), "");
  EXPECT_EQ(rest->remaining(), 0u);
  request.set_after("yesterday");
  EXPECT_TRUE(absl::IsInvalidArgument(store_->List(request).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Get("INC-1", "x").status()));
}

TEST_F(IncidentStoreTest, AlertsFromBeforeSendersAreTheDefaultSenders) {
  store_.reset();
  const std::string old_path = path_ + ".old";
  // The tables as the previous release made them, with one firing alert.
  ASSERT_TRUE(
      testing::ExecSqlite(
          old_path,
          "CREATE TABLE incidents (id INTEGER PRIMARY KEY AUTOINCREMENT, "
          "alertname TEXT NOT NULL, host TEXT NOT NULL, host_known INTEGER "
          "NOT NULL, entry TEXT NOT NULL, nearest TEXT NOT NULL, status TEXT "
          "NOT NULL, opened_at_ms INTEGER NOT NULL, resolved_at_ms INTEGER "
          "NOT NULL DEFAULT 0, summary TEXT NOT NULL, mountpoint TEXT NOT "
          "NULL, device TEXT NOT NULL, environment TEXT NOT NULL, "
          "diagnosis_state TEXT NOT NULL, diagnosis_started_ms INTEGER NOT "
          "NULL DEFAULT 0, diagnosis_finished_ms INTEGER NOT NULL DEFAULT 0, "
          "diagnosis_exit INTEGER NOT NULL DEFAULT 0, diagnosis_output TEXT "
          "NOT NULL DEFAULT '', diagnosis_run TEXT NOT NULL DEFAULT '');"
          "CREATE TABLE incident_alerts (fingerprint TEXT NOT NULL, "
          "starts_at_ms INTEGER NOT NULL, incident INTEGER NOT NULL "
          "REFERENCES incidents (id), status TEXT NOT NULL, ends_at_ms "
          "INTEGER NOT NULL, received_at_ms INTEGER NOT NULL, source TEXT NOT "
          "NULL, labels_json TEXT NOT NULL, annotations_json TEXT NOT NULL, "
          "generator_url TEXT NOT NULL, PRIMARY KEY (fingerprint, "
          "starts_at_ms));"
          "CREATE INDEX incident_alerts_incident ON incident_alerts "
          "(incident);"
          "INSERT INTO incidents (alertname, host, host_known, entry, "
          "nearest, status, opened_at_ms, summary, mountpoint, device, "
          "environment, diagnosis_state) VALUES ('DiskUsageWarning', 'web-1', "
          "1, 'web-disk', '', 'open', 1000, '', '', '', '', 'none');"
          "INSERT INTO incident_alerts VALUES ('01', 1000, 1, 'firing', 0, "
          "2000, 'alertmanager', "
          "'{\"alertname\":\"DiskUsageWarning\",\"instance\":\"web-1\"}', "
          "'{}', '');")
          .ok());
  auto opened = IncidentStore::Open(old_path);
  ASSERT_TRUE(opened.ok()) << opened.status();
  store_ = *std::move(opened);
  EXPECT_EQ(store_->Get("INC-1")->alerts(0).sender(), "default");
  // Bound to its labels as first received, and to the default sender.
  TriagedAlert other_labels = Alert("resolved", "web-1", "web-disk", "01");
  other_labels.alert.labels["x"] = "y";
  EXPECT_EQ(store_->Record({other_labels}, "default", 3000)->refused, 1);
  EXPECT_EQ(store_
                ->Record({Alert("resolved", "web-1", "web-disk", "01")},
                         "other", 3000)
                ->ignored,
            1);
  EXPECT_EQ(store_
                ->Record({Alert("resolved", "web-1", "web-disk", "01")},
                         "default", 3000)
                ->closed,
            std::vector<std::string>{"INC-1"});
}

TEST_F(IncidentStoreTest, APersonAcknowledgesResolvesAndReopens) {
  TriagedAlert linked = Alert("firing", "web-1", "web-disk", "01");
  linked.alert.links.generator = "https://prometheus.example/graph";
  linked.alert.links.dashboard = "https://grafana.example/d/disk";
  linked.alert.links.refused = true;
  ASSERT_TRUE(store_->Record({linked}, "am", 2000).ok());
  absl::StatusOr<v1::Incident> shown = store_->Get("INC-1");
  ASSERT_TRUE(shown.ok()) << shown.status();
  EXPECT_EQ(shown->alerts(0).generator_url(),
            "https://prometheus.example/graph");
  EXPECT_EQ(shown->alerts(0).dashboard_url(), "https://grafana.example/d/disk");
  EXPECT_TRUE(shown->alerts(0).link_refused());

  absl::StatusOr<v1::Incident> acked = store_->Respond(
      "INC-1", v1::IncidentResponse::ACTION_ACKNOWLEDGE, "alice", 3000);
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(acked->owner(), "alice");
  EXPECT_EQ(acked->acknowledged_at_ms(), 3000);
  EXPECT_EQ(acked->last_human_action_ms(), 3000);
  EXPECT_EQ(acked->last_human_action_by(), "alice");
  // Another takes it over; a note changes only the last action.
  EXPECT_EQ(store_
                ->Respond("INC-1", v1::IncidentResponse::ACTION_ACKNOWLEDGE,
                          "bob", 4000)
                ->owner(),
            "bob");
  absl::StatusOr<v1::Incident> noted = store_->Respond(
      "INC-1", v1::IncidentResponse::ACTION_NOTE, "carol", 5000);
  ASSERT_TRUE(noted.ok());
  EXPECT_EQ(noted->owner(), "bob");
  EXPECT_EQ(noted->last_human_action_by(), "carol");

  absl::StatusOr<v1::Incident> resolved = store_->Respond(
      "INC-1", v1::IncidentResponse::ACTION_RESOLVE, "bob", 6000);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->status(), "resolved");
  EXPECT_EQ(resolved->resolved_at_ms(), 6000);
  EXPECT_EQ(resolved->resolved_by(), "bob");
  const std::string before = Snapshot();
  for (auto action : {v1::IncidentResponse::ACTION_ACKNOWLEDGE,
                      v1::IncidentResponse::ACTION_RESOLVE,
                      v1::IncidentResponse::ACTION_SILENCE}) {
    absl::StatusOr<v1::Incident> refused =
        store_->Respond("INC-1", action, "bob", 7000);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(refused.status().message(), HasSubstr("reopen it first"));
  }
  EXPECT_EQ(
      store_->Respond("INC-9", v1::IncidentResponse::ACTION_NOTE, "bob", 7000)
          .status()
          .code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(Snapshot(), before);  // refused: nothing changed

  // A new alert for the same host and entry opens INC-2; INC-1 cannot be
  // reopened beside it, since alerts join the open one.
  ASSERT_TRUE(
      store_->Record({Alert("firing", "web-1", "web-disk", "02")}, "am", 8000)
          .ok());
  absl::StatusOr<v1::Incident> reopened = store_->Respond(
      "INC-1", v1::IncidentResponse::ACTION_REOPEN, "bob", 9000);
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reopened.status().message(), HasSubstr("INC-2 is open"));
  ASSERT_TRUE(
      store_
          ->Respond("INC-2", v1::IncidentResponse::ACTION_RESOLVE, "bob", 9000)
          .ok());
  reopened = store_->Respond("INC-1", v1::IncidentResponse::ACTION_REOPEN,
                             "bob", 10000);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(reopened->status(), "open");
  EXPECT_EQ(reopened->resolved_by(), "");
  EXPECT_EQ(reopened->resolved_at_ms(), 0);
}

TEST_F(IncidentStoreTest, SilencesMatchTheFiringAlertsExactly) {
  ASSERT_TRUE(store_
                  ->Record({Alert("firing", "web-1", "web-disk", "01"),
                            Alert("firing", "web-1", "web-disk", "02",
                                  "DiskUsageCritical"),
                            Alert("firing", "web-1", "web-disk", "03")},
                           "am", 2000)
                  .ok());
  absl::StatusOr<IncidentStore::SilencePlan> plan =
      store_->SilenceMatchers("INC-1");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->silences,
            (std::vector<IncidentStore::Matchers>{
                {{"alertname", "DiskUsageWarning"}, {"instance", "web-1"}},
                {{"alertname", "DiskUsageCritical"}, {"instance", "web-1"}}}));
  EXPECT_TRUE(plan->unsilenceable.empty());

  v1::IncidentSilence silence;
  silence.set_id("0b5a1c2d-0000-4000-8000-000000000001");
  silence.set_created_by("alice");
  silence.set_created_at_ms(3000);
  silence.set_ends_at_ms(9000);
  silence.set_matchers("alertname=\"DiskUsageWarning\", instance=\"web-1\"");
  absl::StatusOr<v1::Incident> silenced =
      store_->AddSilences("INC-1", {silence}, "alice", 3000);
  ASSERT_TRUE(silenced.ok()) << silenced.status();
  EXPECT_EQ(silenced->last_human_action_by(), "alice");
  ASSERT_EQ(silenced->silences_size(), 1);
  ASSERT_TRUE(store_->ExpireSilence(silence.id(), 4000).ok());
  absl::StatusOr<v1::Incident> shown = store_->Get("INC-1");
  ASSERT_EQ(shown->silences_size(), 1);
  EXPECT_EQ(shown->silences(0).expired_at_ms(), 4000);

  // An alert without an instance label would need a silence of its name on
  // every host: it is left out, said so, and alone it makes no silence.
  TriagedAlert nameless = Alert("firing", "web-2", "web-disk", "04");
  nameless.alert.labels.erase("instance");
  ASSERT_TRUE(store_->Record({nameless}, "am", 2000).ok());
  absl::StatusOr<IncidentStore::SilencePlan> refused =
      store_->SilenceMatchers("INC-2");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("no instance label"));
  TriagedAlert nameless_on_1 = Alert("firing", "web-1", "web-disk", "05");
  nameless_on_1.alert.labels = {{"alertname", "NodeDown"}};
  ASSERT_TRUE(store_->Record({nameless_on_1}, "other", 2000).ok());
  plan = store_->SilenceMatchers("INC-1");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->silences.size(), 2u);
  EXPECT_EQ(plan->unsilenceable, std::vector<std::string>{"NodeDown"});
  // Once resolved, it keeps no new silence.
  ASSERT_TRUE(store_
                  ->Respond("INC-1", v1::IncidentResponse::ACTION_RESOLVE,
                            "alice", 4000)
                  .ok());
  EXPECT_EQ(
      store_->AddSilences("INC-1", {silence}, "alice", 5000).status().code(),
      absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(
      store_
          ->Respond("INC-1", v1::IncidentResponse::ACTION_REOPEN, "alice", 5000)
          .ok());
  // Nothing firing: nothing to silence.
  TriagedAlert nameless_resolved = nameless_on_1;
  nameless_resolved.alert.status = "resolved";
  nameless_resolved.alert.ends_at_ms = 5000;
  ASSERT_TRUE(store_->Record({nameless_resolved}, "other", 6000).ok());
  ASSERT_TRUE(store_
                  ->Record({Alert("resolved", "web-1", "web-disk", "01"),
                            Alert("resolved", "web-1", "web-disk", "02",
                                  "DiskUsageCritical"),
                            Alert("resolved", "web-1", "web-disk", "03")},
                           "am", 6000)
                  .ok());
  EXPECT_THAT(store_->SilenceMatchers("INC-1").status().message(),
              HasSubstr("is firing"));
}

}  // namespace
}  // namespace opsagent
