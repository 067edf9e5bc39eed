// What on-call does with an incident, on the real parts: Debian's
// prometheus-alertmanager (serving HTTPS with a certificate of the test CA)
// receives alerts on its API v2 and sends its webhook to the real opsctld,
// which opens the incident; alice (through the real opsctl) acknowledges
// it, adds a note, silences it (the silence must exist in Alertmanager,
// matching the incident's alert exactly, and hold the alert suppressed),
// unsilences it (the silence expires in Alertmanager), resolves and
// reopens it. Every step is a row of the team's log under the incident.
// Bad input is refused and changes nothing; an Alertmanager that is down
// fails the silence and leaves the incident as it was. A local HTTPS
// receiver (a certificate of the test CA) stands in for Slack and for an
// incident tool: it records every message, and the alert's hostile text
// (<!channel>, <@U..>, <http://evil|text>) must reach it as text only;
// another that always fails must leave the incidents intact.
//
// Alertmanager takes a fixed address, so its port is picked free
// beforehand and may, rarely, be taken in between.

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/http/http_listener.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/alerting_fleet.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AlertingFleet;
using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::PickFreePort;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::StartLogged;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

// An HTTPS server that records what is POSTed to it, answering `status`:
// the project's own listener (libmicrohttpd over GnuTLS), so that its TLS
// is not the OpenSSL opsctld's client meets elsewhere.
class RecordingReceiver {
 public:
  RecordingReceiver(const CertificateFiles& files, int port, int status) {
    HttpListenerOptions options;
    options.address = absl::StrCat("127.0.0.1:", port);
    options.certificate = files.certificate;
    options.private_key = files.private_key;
    options.handle = [this, status](const HttpRequest& request) {
      absl::MutexLock lock(&mutex_);
      received_.push_back({request.path, request.body});
      HttpResponse response;
      response.status = status;
      response.body = status == 200 ? "ok" : "no";
      return response;
    };
    absl::StatusOr<std::unique_ptr<HttpListener>> started =
        HttpListener::Start(options);
    EXPECT_TRUE(started.ok()) << started.status();
    if (started.ok()) listener_ = *std::move(started);
  }
  // The bodies POSTed to `path`.
  std::vector<std::string> Bodies(const std::string& path) {
    absl::MutexLock lock(&mutex_);
    std::vector<std::string> bodies;
    for (const auto& [at, body] : received_)
      if (at == path) bodies.push_back(body);
    return bodies;
  }

 private:
  absl::Mutex mutex_;
  std::vector<std::pair<std::string, std::string>> received_
      ABSL_GUARDED_BY(mutex_);
  std::unique_ptr<HttpListener> listener_;
};

constexpr char kSlackPath[] = "/services/T0001/B0001/s3cr3t-webhook-path";
constexpr char kHookPath[] = "/hooks/incident-tool-s3cr3t";

class IncidentResponseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/prometheus-alertmanager", X_OK) != 0)
      GTEST_SKIP() << "prometheus-alertmanager is not installed";
    dir_ = testing::MakeTestDirectory();
    const std::string logs = dir_ + "/logs";
    mkdir(logs.c_str(), 0700);
    WriteFileOrDie(logs + "/app.log", "x\n");
    alertmanager_port_ = PickFreePort();
    receiver_port_ = PickFreePort();
    pages_port_ = PickFreePort();
    // The chat receivers' URLs are secrets, in 0600 files.
    WriteFileOrDie(
        dir_ + "/slack-url",
        absl::StrCat("https://127.0.0.1:", receiver_port_, kSlackPath, "\n"));
    WriteFileOrDie(
        dir_ + "/hook-url",
        absl::StrCat("https://127.0.0.1:", receiver_port_, kHookPath));
    WriteFileOrDie(dir_ + "/page-key", std::string(64, 'k'));
    for (const char* file : {"/slack-url", "/hook-url", "/page-key"})
      chmod((dir_ + file).c_str(), 0600);
    auto fleet = AlertingFleet::Start(
        {dir_, logs, "", 65536,
         absl::StrCat(
             "alertmanager {\n  url: \"https://127.0.0.1:", alertmanager_port_,
             "/\"\n  ca_file: \"", dir_,
             "/fleet-ca.crt\"\n  timeout_seconds: 5\n}\n",
             "access { roles: \"viewer\" permissions: \"incidents\" }\n",
             "pages {\n  listen_address: \"127.0.0.1:", pages_port_,
             "\"\n  certificate: \"CONTROLLER_CERT\"\n  private_key: "
             "\"CONTROLLER_KEY\"\n  base_url: \"https://127.0.0.1:",
             pages_port_, "\"\n  link_key_file: \"", dir_, "/page-key\"\n}\n",
             "chat {\n  slack_webhook_url_file: \"", dir_,
             "/slack-url\"\n  webhook_url_file: \"", dir_,
             "/hook-url\"\n  ca_file: \"", dir_,
             "/fleet-ca.crt\"\n  timeout_seconds: 5\n  max_attempts: 2\n}\n")});
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);

    absl::StatusOr<CertificateFiles> bob =
        fleet_->ca->Issue("operator-bob", {"bob", {"viewer"}});
    ASSERT_TRUE(bob.ok()) << bob.status();
    bob_ = std::make_unique<OpsctlRunner>(
        dir_, "bob", bob->certificate, bob->private_key,
        fleet_->ca->certificate_path(), "web-1", 1);
    bob_->AppendConfig(fleet_->controller->OpsctlConfig());

    // Alertmanager serves HTTPS with a certificate for 127.0.0.1, and
    // sends its webhook to the intake with the "default" sender's token.
    testing::CertificateSpec spec;
    spec.common_name = "alertmanager";
    spec.ip_addresses = {"127.0.0.1"};
    spec.server = true;
    absl::StatusOr<CertificateFiles> served =
        fleet_->ca->Issue("alertmanager", spec);
    ASSERT_TRUE(served.ok()) << served.status();
    receiver_cert_ = *served;
    WriteFileOrDie(
        dir_ + "/alertmanager-web.yml",
        absl::StrCat("tls_server_config:\n  cert_file: ", served->certificate,
                     "\n  key_file: ", served->private_key, "\n"));
    WriteFileOrDie(
        dir_ + "/alertmanager.yml",
        absl::StrCat(
            "route:\n  receiver: opsctld\n"
            "  group_by: [alertname, instance]\n"
            "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 4h\n"
            "receivers:\n- name: opsctld\n  webhook_configs:\n"
            "  - url: https://127.0.0.1:",
            fleet_->intake_port,
            "/v1/alerts\n    send_resolved: true\n    http_config:\n"
            "      authorization:\n        type: Bearer\n"
            "        credentials_file: ",
            dir_, "/alert-token\n      tls_config:\n        ca_file: ",
            fleet_->ca->certificate_path(), "\n"));
    StartAlertmanager();
  }

  void StartAlertmanager() {
    alertmanager_ = StartLogged(
        dir_, "alertmanager",
        {"/usr/bin/prometheus-alertmanager",
         "--config.file=" + dir_ + "/alertmanager.yml",
         "--web.config.file=" + dir_ + "/alertmanager-web.yml",
         "--storage.path=" + dir_ + "/alertmanager-data",
         absl::StrCat("--web.listen-address=127.0.0.1:", alertmanager_port_),
         "--cluster.listen-address="});
    ASSERT_TRUE(Eventually([&] { return Api("GET", "/-/ready").status == 200; },
                           absl::Seconds(30)))
        << Logs();
  }

  struct Answer {
    int status = 0;
    std::string body;
  };
  // Alertmanager's API, as a client that trusts the test CA.
  Answer Api(const std::string& method, const std::string& path,
             const std::string& body = "") const {
    httplib::SSLClient client("127.0.0.1", alertmanager_port_);
    client.set_ca_cert_path(fleet_->ca->certificate_path().c_str());
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(5);
    httplib::Result result =
        method == "POST" ? client.Post(path.c_str(), body, "application/json")
                         : client.Get(path.c_str());
    if (!result) return {};
    return {result->status, result->body};
  }

  // Posts one firing alert to Alertmanager, as Prometheus would.
  void Fire(const std::string& labels_json, const std::string& generator) {
    const Answer posted =
        Api("POST", "/api/v2/alerts",
            absl::StrCat("[{\"labels\": ", labels_json,
                         ", \"annotations\": {\"description\": \"Filesystem at "
                         "web-1 is 91% full. <!channel> <@U024BE7LH> "
                         "<http://evil.example|click here>\"}, "
                         "\"generatorURL\": \"",
                         generator, "\", \"startsAt\": \"",
                         Rfc3339(absl::Now() - absl::Minutes(1)), "\"}]"));
    ASSERT_EQ(posted.status, 200) << posted.body;
  }

  // Whether `opsctl incidents` shows `text` within 30 s (Alertmanager's
  // group_wait and the webhook).
  bool WaitForIncidents(const std::string& text) const {
    return Eventually(
        [&] {
          return absl::StrContains(
              fleet_->alice->Run({"incidents"}).stdout_text, text);
        },
        absl::Seconds(30));
  }

  // `incident show ID --output json`: the incident, and its rows of the
  // team's log, oldest first.
  google::protobuf::Value Shown(const std::string& id) const {
    ProgramResult shown =
        fleet_->alice->Run({"incident", "show", id, "--output", "json"});
    EXPECT_EQ(shown.exit_code, 0) << shown.stderr_text;
    return ParseJson(shown.stdout_text);
  }
  google::protobuf::Value Incident(const std::string& id) const {
    return JsonField(Shown(id), "incident");
  }
  int ActionCount(const std::string& id) const {
    return JsonField(Shown(id), "actions").list_value().values_size();
  }

  std::string Logs() const {
    return absl::StrCat(
        "--- alertmanager:\n",
        ReadFileOrDie(dir_ + "/alertmanager.log").substr(0, 6000),
        "--- opsctld:\n", fleet_->controller->Log());
  }

  // Starts the chat receivers' server, answering `status`.
  void StartReceiver(int status) {
    receiver_ = std::make_unique<RecordingReceiver>(receiver_cert_,
                                                    receiver_port_, status);
  }

  std::string dir_;
  int alertmanager_port_ = 0, receiver_port_ = 0, pages_port_ = 0;
  CertificateFiles receiver_cert_;
  std::unique_ptr<RecordingReceiver> receiver_;
  std::unique_ptr<AlertingFleet> fleet_;
  std::unique_ptr<OpsctlRunner> bob_;
  std::unique_ptr<Subprocess> alertmanager_;
};

TEST_F(IncidentResponseTest, OnCallAcknowledgesNotesSilencesAndResolves) {
  StartReceiver(200);
  Fire(
      "{\"alertname\": \"DiskUsageWarning\", \"instance\": \"web-1:9100\", "
      "\"severity\": \"warning\"}",
      "https://prometheus.example.net/graph?g0.expr=disk");
  ASSERT_TRUE(WaitForIncidents("INC-1")) << Logs();

  // The links Alertmanager sent are kept and shown.
  ProgramResult shown = fleet_->alice->Run({"incident", "show", "INC-1"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  EXPECT_THAT(shown.stdout_text,
              HasSubstr("link: graph    "
                        "https://prometheus.example.net/graph?g0.expr=disk"));
  EXPECT_THAT(shown.stdout_text, HasSubstr("link: source"));

  // A viewer reads incidents but may not act on them; nothing is written.
  const int rows_before = ActionCount("INC-1");
  ProgramResult denied = bob_->Run({"incident", "ack", "INC-1"});
  EXPECT_EQ(denied.exit_code, 3) << denied.stderr_text;
  EXPECT_THAT(denied.stderr_text, HasSubstr("respond"));

  ProgramResult acked = fleet_->alice->Run({"incident", "ack", "INC-1"});
  ASSERT_EQ(acked.exit_code, 0) << acked.stderr_text;
  EXPECT_THAT(acked.stdout_text, HasSubstr("INC-1 acknowledged; owner alice"));
  ProgramResult listed = fleet_->alice->Run({"incidents"});
  EXPECT_THAT(listed.stdout_text, HasSubstr("OWNER"));
  EXPECT_THAT(listed.stdout_text, HasSubstr("alice"));
  EXPECT_THAT(listed.stdout_text, HasSubstr(" ago"));

  ProgramResult noted = fleet_->alice->Run(
      {"incident", "note", "INC-1", "freed", "8G", "from", "app.log"});
  ASSERT_EQ(noted.exit_code, 0) << noted.stderr_text;

  // Bad input: a clear error, and no row, no change.
  const int rows_after_note = ActionCount("INC-1");
  EXPECT_EQ(rows_after_note, rows_before + 2);
  ProgramResult too_long =
      fleet_->alice->Run({"incident", "note", "INC-1", std::string(5000, 'n')});
  EXPECT_EQ(too_long.exit_code, 2);
  EXPECT_THAT(too_long.stderr_text, HasSubstr("longer than 4096 bytes"));
  ProgramResult unknown = fleet_->alice->Run({"incident", "ack", "INC-99"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.stderr_text, HasSubstr("no incident INC-99"));
  ProgramResult no_reason =
      fleet_->alice->Run({"incident", "resolve", "INC-1"});
  EXPECT_EQ(no_reason.exit_code, 2);
  EXPECT_THAT(no_reason.stderr_text, HasSubstr("--reason"));
  ProgramResult too_wide = fleet_->alice->Run(
      {"incident", "silence", "INC-1", "--for", "30d", "--reason", "quiet"});
  EXPECT_EQ(too_wide.exit_code, 2);
  EXPECT_EQ(ActionCount("INC-1"), rows_after_note);

  // A silence for exactly the incident's alert, in Alertmanager's API.
  ProgramResult silenced = fleet_->alice->Run(
      {"incident", "silence", "INC-1", "--for", "2h", "--reason",
       "the disk grows while we move logs", "--output", "json"});
  ASSERT_EQ(silenced.exit_code, 0) << silenced.stderr_text << Logs();
  const google::protobuf::Value silenced_json = ParseJson(silenced.stdout_text);
  const auto& silences =
      JsonField(JsonField(silenced_json, "incident"), "silences").list_value();
  ASSERT_EQ(silences.values_size(), 1);
  const std::string silence_id =
      JsonField(silences.values(0), "id").string_value();
  Answer silence = Api("GET", "/api/v2/silence/" + silence_id);
  ASSERT_EQ(silence.status, 200) << silence.body;
  EXPECT_THAT(silence.body, HasSubstr("\"state\":\"active\""));
  EXPECT_THAT(silence.body,
              HasSubstr("{\"isEqual\":true,\"isRegex\":false,\"name\":"
                        "\"alertname\",\"value\":\"DiskUsageWarning\"}"));
  EXPECT_THAT(silence.body,
              HasSubstr("{\"isEqual\":true,\"isRegex\":false,\"name\":"
                        "\"instance\",\"value\":\"web-1:9100\"}"));
  EXPECT_THAT(silence.body, HasSubstr("\"createdBy\":\"alice (opsctl)\""));
  // No other matcher: not the severity, nothing wider.
  EXPECT_THAT(silence.body, Not(HasSubstr("severity")));
  ASSERT_TRUE(Eventually(
      [&] {
        return absl::StrContains(Api("GET", "/api/v2/alerts").body,
                                 "\"silencedBy\":[\"" + silence_id + "\"]");
      },
      absl::Seconds(10)))
      << Api("GET", "/api/v2/alerts").body;

  ProgramResult unsilenced =
      fleet_->alice->Run({"incident", "unsilence", "INC-1"});
  ASSERT_EQ(unsilenced.exit_code, 0) << unsilenced.stderr_text << Logs();
  EXPECT_THAT(Api("GET", "/api/v2/silence/" + silence_id).body,
              HasSubstr("\"state\":\"expired\""));
  ProgramResult again = fleet_->alice->Run({"incident", "unsilence", "INC-1"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.stderr_text, HasSubstr("no silence running"));

  // Alertmanager down: the silence fails, said so, and the incident keeps
  // its state; the attempt is in the log with its error.
  alertmanager_.reset();
  ProgramResult unreachable = fleet_->alice->Run(
      {"incident", "silence", "INC-1", "--for", "1h", "--reason", "again"});
  EXPECT_NE(unreachable.exit_code, 0);
  EXPECT_THAT(unreachable.stderr_text, HasSubstr("Alertmanager"));
  google::protobuf::Value incident = Incident("INC-1");
  EXPECT_EQ(JsonField(incident, "status").string_value(), "open");
  EXPECT_EQ(JsonField(incident, "owner").string_value(), "alice");
  EXPECT_EQ(JsonField(incident, "silences").list_value().values_size(), 1);
  const google::protobuf::Value actions = JsonField(Shown("INC-1"), "actions");
  const auto& rows = actions.list_value();
  ASSERT_GT(rows.values_size(), 0);
  const google::protobuf::Value& last = rows.values(rows.values_size() - 1);
  EXPECT_EQ(JsonField(last, "operation").string_value(), "incident_silence");
  EXPECT_EQ(JsonField(last, "outcome").string_value(), "error");
  EXPECT_THAT(JsonField(last, "message").string_value(),
              HasSubstr("Alertmanager"));

  ProgramResult resolved = fleet_->alice->Run(
      {"incident", "resolve", "INC-1", "--reason", "moved the logs"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.stderr_text;
  incident = Incident("INC-1");
  EXPECT_EQ(JsonField(incident, "status").string_value(), "resolved");
  EXPECT_EQ(JsonField(incident, "resolved_by").string_value(), "alice");
  ProgramResult ack_resolved = fleet_->alice->Run({"incident", "ack", "INC-1"});
  EXPECT_EQ(ack_resolved.exit_code, 2);
  EXPECT_THAT(ack_resolved.stderr_text, HasSubstr("reopen it first"));
  ProgramResult reopened = fleet_->alice->Run(
      {"incident", "reopen", "INC-1", "--reason", "it filled again"});
  ASSERT_EQ(reopened.exit_code, 0) << reopened.stderr_text;
  EXPECT_EQ(JsonField(Incident("INC-1"), "status").string_value(), "open");

  // The timeline shows each step, from the team's log, which verifies.
  ProgramResult timeline = fleet_->alice->Run({"incident", "show", "INC-1"});
  for (const char* step :
       {"alice: incident_acknowledge", "alice: incident_note",
        "alice: incident_silence", "alice: incident_unsilence",
        "alice: incident_resolve", "alice: incident_reopen", "freed 8G"}) {
    EXPECT_THAT(timeline.stdout_text, HasSubstr(step));
  }
  EXPECT_THAT(timeline.stdout_text, HasSubstr("owner          alice"));
  ProgramResult verified = fleet_->alice->Run({"audit", "verify"});
  EXPECT_EQ(verified.exit_code, 0)
      << verified.stdout_text << verified.stderr_text;

  // The chat got a message for each event, with the page's link, and the
  // incident tool the same as JSON.
  const std::string link_start =
      absl::StrCat("<https://127.0.0.1:", pages_port_, "/incidents/INC-1?t=");
  std::vector<std::string> slack;
  ASSERT_TRUE(Eventually(
      [&] {
        slack = receiver_->Bodies(kSlackPath);
        return slack.size() >= 5;
      },
      absl::Seconds(30)))
      << slack.size() << " messages\n"
      << fleet_->controller->Log();
  std::string all;
  for (const std::string& body : slack) {
    EXPECT_THAT(body, HasSubstr(link_start)) << body;
    EXPECT_THAT(body, HasSubstr("|Open INC-1>")) << body;
    all += body;
  }
  for (const char* event :
       {"INC-1 opened*", "INC-1 diagnosed*", "INC-1 acknowledged*",
        "INC-1 resolved*", "INC-1 reopened*"})
    EXPECT_THAT(all, HasSubstr(event));
  EXPECT_THAT(all, HasSubstr("Owner: `alice`"));
  EXPECT_THAT(all, HasSubstr("Resolved by `alice`"));
  // The hostile text arrived as text: no mention, no link of its own.
  EXPECT_THAT(all, HasSubstr("&lt;!channel&gt; &lt;@U024BE7LH&gt; "
                             "&lt;http://evil.example|click here&gt;"));
  EXPECT_THAT(all, Not(HasSubstr("<!channel>")));
  EXPECT_THAT(all, Not(HasSubstr("<@U024BE7LH>")));
  EXPECT_THAT(all, Not(HasSubstr("<http://evil")));
  // The link opens the incident's page.
  const std::string& first = slack.front();
  const size_t at = first.find(link_start) + 1;
  const std::string url = first.substr(at, first.find("|Open") - at);
  httplib::SSLClient pages("127.0.0.1", pages_port_);
  pages.set_ca_cert_path(fleet_->ca->certificate_path().c_str());
  pages.enable_server_certificate_verification(true);
  httplib::Result page = pages.Get(url.substr(url.find("/incidents")).c_str());
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("INC-1: DiskUsageWarning on web-1"));

  std::vector<std::string> hooks = receiver_->Bodies(kHookPath);
  ASSERT_GE(hooks.size(), 5u);
  std::vector<std::string> events;
  for (const std::string& body : hooks) {
    google::protobuf::Value hook = ParseJson(body);
    events.push_back(JsonField(hook, "event").string_value());
    EXPECT_THAT(JsonField(JsonField(hook, "incident"), "url").string_value(),
                HasSubstr(absl::StrCat("https://127.0.0.1:", pages_port_,
                                       "/incidents/INC-1?t=")));
  }
  for (const char* event :
       {"opened", "diagnosed", "acknowledged", "resolved", "reopened"})
    EXPECT_THAT(events, ::testing::Contains(event));
  // The webhooks' secrets never reach the log.
  EXPECT_THAT(fleet_->controller->Log(), Not(HasSubstr("s3cr3t")));
}

TEST_F(IncidentResponseTest, AChatThatFailsLosesNoIncident) {
  StartReceiver(500);
  Fire("{\"alertname\": \"DiskUsageWarning\", \"instance\": \"web-1:9100\"}",
       "https://prometheus.example.net/graph");
  ASSERT_TRUE(WaitForIncidents("INC-1")) << Logs();
  // Each message is tried twice (max_attempts) and given up; the incident
  // and what people do with it carry on.
  ASSERT_TRUE(Eventually(
      [&] {
        return absl::StrContains(
            AlertingFleet::Metrics(fleet_->controller_metrics_port).body,
            "opsagent_controller_chat_posts_total{receiver=\"slack\","
            "outcome=\"failed\"}");
      },
      absl::Seconds(30)))
      << fleet_->controller->Log();
  EXPECT_GE(receiver_->Bodies(kSlackPath).size(), 2u);
  ProgramResult acked = fleet_->alice->Run({"incident", "ack", "INC-1"});
  EXPECT_EQ(acked.exit_code, 0) << acked.stderr_text;
  EXPECT_EQ(JsonField(Incident("INC-1"), "owner").string_value(), "alice");
  const std::string log = fleet_->controller->Log();
  EXPECT_THAT(log, HasSubstr("not posted to slack"));
  EXPECT_THAT(log, HasSubstr("https://127.0.0.1:"));  // where, not the path
  EXPECT_THAT(log, Not(HasSubstr("s3cr3t")));
}

TEST_F(IncidentResponseTest, ASilenceNeverCoversMoreThanTheIncident) {
  // An alert without an instance label: a silence of its name alone would
  // silence it everywhere, so none is made.
  Fire("{\"alertname\": \"ClusterDown\", \"cluster\": \"east\"}",
       "javascript:alert(1)");
  ASSERT_TRUE(WaitForIncidents("ClusterDown")) << Logs();
  ProgramResult silenced = fleet_->alice->Run(
      {"incident", "silence", "INC-1", "--for", "1h", "--reason", "flapping"});
  EXPECT_EQ(silenced.exit_code, 2) << silenced.stdout_text;
  EXPECT_THAT(silenced.stderr_text, HasSubstr("has no instance label"));
  EXPECT_EQ(Api("GET", "/api/v2/silences").body, "[]\n");
  // The javascript: link was refused, not kept.
  google::protobuf::Value incident = Incident("INC-1");
  const auto& alerts = JsonField(incident, "alerts").list_value();
  ASSERT_EQ(alerts.values_size(), 1);
  EXPECT_TRUE(JsonField(alerts.values(0), "link_refused").bool_value());
  EXPECT_EQ(JsonField(alerts.values(0), "generator_url").string_value(), "");
  ProgramResult shown = fleet_->alice->Run({"incident", "show", "INC-1"});
  EXPECT_THAT(shown.stdout_text, Not(HasSubstr("javascript")));
}

}  // namespace
}  // namespace opsagent
