// Alert notifications as senders write them, and the incidents they make,
// on real SQLite files.

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "controller/alerts/alert_notification.h"
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

  std::string path_;
  std::unique_ptr<IncidentStore> store_;
};

TEST_F(IncidentStoreTest,
       AGroupOpensOneIncidentPerHostAndRepeatsChangeNothing) {
  const std::vector<TriagedAlert> group = {
      Alert("firing", "web-1", "web-disk", "01"),
      Alert("firing", "web-1", "web-disk", "02"),  // another mount, same host
      Alert("firing", "web-2", "web-disk", "03")};
  absl::StatusOr<IntakeResult> first = store_->Record(group, 2000);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->opened, (std::vector<std::string>{"INC-1", "INC-2"}));
  EXPECT_EQ(first->joined, 1);
  absl::StatusOr<IntakeResult> again = store_->Record(group, 3000);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->opened.empty());
  EXPECT_EQ(again->repeated, 3);
  absl::StatusOr<v1::Incident> web1 = store_->Get("INC-1");
  ASSERT_TRUE(web1.ok());
  EXPECT_EQ(web1->host(), "web-1");
  EXPECT_EQ(web1->alerts_size(), 2);
  EXPECT_EQ(web1->diagnosis().state(), "pending");
  EXPECT_EQ(store_->List(false, 100)->size(), 2u);
}

TEST_F(IncidentStoreTest, ItResolvesWhenEveryAlertInItHas) {
  ASSERT_TRUE(store_
                  ->Record({Alert("firing", "web-1", "web-disk", "01"),
                            Alert("firing", "web-1", "web-disk", "02",
                                  "DiskUsageCritical")},
                           2000)
                  .ok());
  absl::StatusOr<IntakeResult> one =
      store_->Record({Alert("resolved", "web-1", "web-disk", "01")}, 6000);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->resolved, 1);
  EXPECT_TRUE(one->closed.empty());
  EXPECT_EQ(store_->Get("INC-1")->status(), "open");
  absl::StatusOr<IntakeResult> both = store_->Record(
      {Alert("resolved", "web-1", "web-disk", "02", "DiskUsageCritical"),
       Alert("resolved", "web-9", "web-disk", "99")},  // never seen firing
      7000);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->closed, std::vector<std::string>{"INC-1"});
  EXPECT_EQ(both->ignored, 1);
  absl::StatusOr<v1::Incident> closed = store_->Get("INC-1");
  EXPECT_EQ(closed->status(), "resolved");
  EXPECT_EQ(closed->resolved_at_ms(), 5000);
  EXPECT_TRUE(store_->List(false, 100)->empty());
  // The alert fires again later: a new incident.
  TriagedAlert again = Alert("firing", "web-1", "web-disk", "01");
  again.alert.starts_at_ms = 9000;
  EXPECT_EQ(store_->Record({again}, 9500)->opened,
            std::vector<std::string>{"INC-2"});
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
                     2000);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("disk is full"));
  EXPECT_TRUE(store_->List(true, 100)->empty());
  ASSERT_TRUE(testing::ExecSqlite(path_, "DROP TRIGGER refuse;").ok());
  absl::StatusOr<IntakeResult> retried =
      store_->Record({Alert("firing", "web-1", "web-disk", "01"),
                      Alert("firing", "web-2", "web-disk", "02"),
                      Alert("firing", "web-3", "web-disk", "bad")},
                     3000);
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
  absl::StatusOr<IntakeResult> recorded = store_->Record(flood, 2000);
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
  EXPECT_EQ(store_->Record(names, 2500)->opened,
            std::vector<std::string>{"INC-2"});
  // Another known host still gets its own.
  EXPECT_EQ(
      store_->Record({Alert("firing", "web-1", "", "known")}, 3000)->opened,
      std::vector<std::string>{"INC-3"});
}

TEST_F(IncidentStoreTest, DiagnosesLeftUnfinishedAreFoundAgain) {
  ASSERT_TRUE(store_
                  ->Record({Alert("firing", "web-1", "web-disk", "01"),
                            Alert("firing", "web-2", "web-disk", "02")},
                           2000)
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

}  // namespace
}  // namespace opsagent
