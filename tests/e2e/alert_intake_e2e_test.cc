// Alerts to incidents on real parts: the real opsctld's HTTPS webhook (a
// real TLS client, a bearer token file), its SQLite incidents, automatic
// diagnosis through the real opsctl as the automation identity over the
// real agent's link, and the agent refusing that identity every change.
// (Real Prometheus and Alertmanager send the webhook in
// tests/system/prometheus_alert_test.cc.)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/alerting_fleet.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/sqlite_file.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AlertingFleet;
using ::opsagent::testing::AlertmanagerNotification;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::ReadFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

class AlertIntakeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDirectory();
    logs_ = dir_ + "/logs";
    mkdir(logs_.c_str(), 0700);
    big_log_ = logs_ + "/app.log";
    testing::WriteFileOrDie(big_log_, std::string(3 << 20, 'x'));
    testing::WriteFileOrDie(logs_ + "/small.log", "ok\n");
    auto fleet = AlertingFleet::Start(
        {dir_, logs_,
         absl::StrCat(
             // A view and a change, as vetted commands declare them.
             "command { name: \"list-logs\" argv: [\"/bin/ls\", \"", logs_,
             "\"] read_only: true }\n"
             "command { name: \"touch-marker\" argv: [\"/usr/bin/touch\", \"",
             dir_, "/marker\"] }\n")});
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    started_ = Rfc3339(absl::Now() - absl::Minutes(2));
  }

  std::string Firing(const std::string& alertname, const std::string& instance,
                     const std::string& fingerprint) const {
    return AlertmanagerNotification("firing", alertname, instance, fingerprint,
                                    started_);
  }

  // `opsctl incidents --all --output json`, parsed.
  google::protobuf::Value Incidents() const {
    ProgramResult listed =
        fleet_->alice->Run({"incidents", "--all", "--output", "json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.stderr_text;
    return ParseJson(listed.stdout_text);
  }
  int IncidentCount() const {
    return JsonField(Incidents(), "incidents").list_value().values_size();
  }

  std::string dir_, logs_, big_log_, started_;
  std::unique_ptr<AlertingFleet> fleet_;
};

TEST_F(AlertIntakeE2eTest, AnAlertOpensAnIncidentDiagnosedBeforeAnyoneLooks) {
  // No application label: the host's role (web) picks the runbook entry.
  AlertingFleet::Answer answer =
      fleet_->Post(Firing("DiskUsageWarning", "web-1:9100", "a1b2c3d4e5f60718"),
                   fleet_->token);
  ASSERT_EQ(answer.status, 200) << answer.body << fleet_->controller->Log();
  EXPECT_THAT(answer.body, HasSubstr("\"opened\":[\"INC-1\"]"));

  ASSERT_TRUE(Eventually(
      [&] {
        return absl::StrContains(fleet_->alice->Run({"incidents"}).stdout_text,
                                 "ready");
      },
      absl::Seconds(30)))
      << fleet_->alice->Run({"incidents"}).stdout_text
      << fleet_->controller->Log();
  ProgramResult listed = fleet_->alice->Run({"incidents"});
  EXPECT_THAT(listed.stdout_text, HasSubstr("INC-1"));
  EXPECT_THAT(listed.stdout_text, HasSubstr("web-disk"));

  ProgramResult shown = fleet_->alice->Run({"incident", "show", "INC-1"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  // The automatic du names the big file, run as the automation identity.
  EXPECT_THAT(shown.stdout_text, HasSubstr(big_log_));
  EXPECT_THAT(shown.stdout_text, HasSubstr("opsctld-automation: disk_usage"));
  EXPECT_THAT(shown.stdout_text, HasSubstr("mountpoint     /"));

  // On-call mitigates with the incident's id; the resolved alert closes it.
  ProgramResult truncated = fleet_->alice->Run(
      {"truncate", "web-1", big_log_, "--yes", "--incident", "INC-1"});
  ASSERT_EQ(truncated.exit_code, 0) << truncated.stderr_text;
  answer = fleet_->Post(AlertmanagerNotification(
                            "resolved", "DiskUsageWarning", "web-1:9100",
                            "a1b2c3d4e5f60718", started_, Rfc3339(absl::Now())),
                        fleet_->token);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_THAT(answer.body, HasSubstr("\"closed\":[\"INC-1\"]"));

  ProgramResult markdown =
      fleet_->alice->Run({"incident", "show", "INC-1", "--output", "markdown"});
  ASSERT_EQ(markdown.exit_code, 0) << markdown.stderr_text;
  EXPECT_THAT(markdown.stdout_text,
              HasSubstr("# INC-1\\: DiskUsageWarning on web-1"));
  EXPECT_THAT(markdown.stdout_text, HasSubstr("| Time | Event |"));
  EXPECT_THAT(markdown.stdout_text,
              HasSubstr("alice\\: truncate\\_log on web-1"));
  EXPECT_THAT(markdown.stdout_text, HasSubstr("incident resolved"));
  EXPECT_THAT(markdown.stdout_text, HasSubstr("```text"));

  ProgramResult json =
      fleet_->alice->Run({"incident", "show", "INC-1", "--output", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.stderr_text;
  google::protobuf::Value parsed = ParseJson(json.stdout_text);
  EXPECT_EQ(JsonField(JsonField(parsed, "incident"), "status").string_value(),
            "resolved");
  bool found_truncate = false;
  for (const auto& action : JsonField(parsed, "actions").list_value().values())
    found_truncate |=
        JsonField(action, "operation").string_value() == "truncate_log";
  EXPECT_TRUE(found_truncate) << json.stdout_text;
  EXPECT_EQ(IncidentCount(), 1);
}

TEST_F(AlertIntakeE2eTest, ADiagnosisCutOffByARestartRunsAgain) {
  ASSERT_EQ(fleet_
                ->Post(Firing("DiskUsageWarning", "web-1", "00000000000000c1"),
                       fleet_->token)
                .status,
            200);
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(fleet_->alice->Run({"incidents"}).stdout_text,
                             "ready");
  }));
  // The controller dies while the diagnosis runs (its row says running).
  fleet_->controller->Kill();
  ASSERT_TRUE(
      testing::ExecSqlite(fleet_->controller->audit_path(),
                          "UPDATE incidents SET diagnosis_state = 'running', "
                          "diagnosis_output = '' WHERE id = 1;")
          .ok());
  ASSERT_TRUE(fleet_->controller->Restart().ok());
  // It runs again once web-1 has linked back, and is ready again.
  ASSERT_TRUE(Eventually(
      [&] {
        ProgramResult shown = fleet_->alice->Run({"incident", "show", "INC-1"});
        return absl::StrContains(shown.stdout_text, "diagnosis      ready") &&
               absl::StrContains(shown.stdout_text, big_log_);
      },
      absl::Seconds(40)))
      << fleet_->alice->Run({"incident", "show", "INC-1"}).stdout_text
      << fleet_->controller->Log();
  EXPECT_THAT(fleet_->controller->Log(),
              HasSubstr("INC-1: diagnosis running when the controller "
                        "stopped; running it again"));
}

TEST_F(AlertIntakeE2eTest, TriageThroughTheControllerKnowsTheHostsRoles) {
  // Grafana's notification as Slack shows it names no application.
  ProgramResult triage = fleet_->alice->Run(
      {"triage",
       "[FIRING:1] - DiskUsageWarning\nDescription - Filesystem on "
       "/dev/nvme0n1p1 at web-1 is 85.02% full."});
  EXPECT_EQ(triage.exit_code, 0) << triage.stdout_text << triage.stderr_text;
  EXPECT_THAT(triage.stdout_text, HasSubstr("roles web"));
  EXPECT_THAT(triage.stdout_text, HasSubstr("runbook entry: web-disk"));
  // Pasted text is not trusted to name hosts: nothing runs on "*".
  ProgramResult star = fleet_->alice->Run(
      {"triage", "[FIRING:1] - DiskUsageWarning web\n - instance = *\n",
       "--run"});
  EXPECT_NE(star.exit_code, 0);
  EXPECT_THAT(star.stdout_text, HasSubstr("not run: the alert's host is not"));
  ProgramResult audit = fleet_->alice->Run({"audit", "--output", "json"});
  EXPECT_THAT(audit.stdout_text, Not(HasSubstr("disk_usage")));
}

TEST_F(AlertIntakeE2eTest, RepeatsAndTheCriticalVariantOpenNothingNew) {
  const std::string warning =
      Firing("DiskUsageWarning", "web-1", "0000000000000001");
  ASSERT_EQ(fleet_->Post(warning, fleet_->token).status, 200);
  // Alertmanager re-sends every 4h while the alert fires, and retries.
  AlertingFleet::Answer again = fleet_->Post(warning, fleet_->token);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_THAT(again.body, HasSubstr("\"repeated\":1"));
  EXPECT_THAT(again.body, HasSubstr("\"opened\":[]"));
  // DiskUsageCritical on the same host finds the same entry and joins.
  AlertingFleet::Answer critical = fleet_->Post(
      Firing("DiskUsageCritical", "web-1", "0000000000000002"), fleet_->token);
  ASSERT_EQ(critical.status, 200) << critical.body;
  EXPECT_THAT(critical.body, HasSubstr("\"joined\":1"));
  // An alert no entry answers opens an incident that says so.
  AlertingFleet::Answer unknown = fleet_->Post(
      Firing("CertificateExpiry", "web-1", "0000000000000003"), fleet_->token);
  ASSERT_EQ(unknown.status, 200) << unknown.body;
  EXPECT_THAT(unknown.body, HasSubstr("\"opened\":[\"INC-2\"]"));
  ProgramResult shown = fleet_->alice->Run({"incident", "show", "INC-2"});
  EXPECT_THAT(shown.stdout_text, HasSubstr("none matched"));
  EXPECT_THAT(shown.stdout_text, HasSubstr("none (no automatic steps)"));
  EXPECT_EQ(IncidentCount(), 2);
}

TEST_F(AlertIntakeE2eTest, GrafanaNotificationsAreReadToo) {
  // Grafana's webhook: no instance label; the description names the host.
  const std::string grafana = absl::StrCat(
      R"({"receiver":"opsctld","status":"firing","orgId":1,"version":"1",)",
      R"("title":"[FIRING:1] DiskUsageWarning","state":"alerting",)",
      R"("message":"**Firing**","groupLabels":{"alertname":"DiskUsageWarning"},)",
      R"("commonLabels":{"alertname":"DiskUsageWarning"},"commonAnnotations":{},)",
      R"("externalURL":"https://grafana.example/","alerts":[{"status":"firing",)",
      R"("labels":{"alertname":"DiskUsageWarning","mountpoint":"/"},)",
      R"("annotations":{"description":"Filesystem on /dev/nvme0n1p1 at web-1 is 85.02% full."},)",
      R"("startsAt":")", started_,
      R"(","endsAt":"0001-01-01T00:00:00Z","generatorURL":"https://grafana.example/alerting/1",)",
      R"("fingerprint":"9f8e7d6c5b4a3921","silenceURL":"https://grafana.example/s",)",
      R"("dashboardURL":"","panelURL":"","values":{"A":85.02},"valueString":"[ var='A' value=85.02 ]"}]})");
  AlertingFleet::Answer answer = fleet_->Post(grafana, fleet_->token);
  ASSERT_EQ(answer.status, 200) << answer.body;
  ProgramResult shown = fleet_->alice->Run({"incident", "show", "INC-1"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  EXPECT_THAT(shown.stdout_text, HasSubstr("on web-1"));
  EXPECT_THAT(shown.stdout_text, HasSubstr("web-disk"));
  EXPECT_THAT(shown.stdout_text, HasSubstr("grafana"));
}

TEST_F(AlertIntakeE2eTest, BadRequestsAreRefusedWithReasonsAndChangeNothing) {
  const std::string good =
      Firing("DiskUsageWarning", "web-1", "00000000000000aa");
  AlertingFleet::Answer no_token = fleet_->Post(good, "");
  EXPECT_EQ(no_token.status, 401);
  EXPECT_THAT(no_token.body, HasSubstr("bearer token is required"));
  EXPECT_EQ(fleet_->Post(good, "not-the-token-0123456789abcdef").status, 401);
  AlertingFleet::Answer malformed =
      fleet_->Post("{\"version\":\"4\",", fleet_->token);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_THAT(malformed.body, HasSubstr("not valid JSON"));
  AlertingFleet::Answer version =
      fleet_->Post(R"({"version":"7","alerts":[]})", fleet_->token);
  EXPECT_EQ(version.status, 400);
  EXPECT_THAT(version.body, HasSubstr("neither Alertmanager"));
  AlertingFleet::Answer no_time = fleet_->Post(
      R"({"version":"4","alerts":[{"status":"firing","labels":{"alertname":"X"}}]})",
      fleet_->token);
  EXPECT_EQ(no_time.status, 400);
  EXPECT_THAT(no_time.body, HasSubstr("alerts[0].startsAt: is required"));
  AlertingFleet::Answer deep =
      fleet_->Post(absl::StrCat(std::string(100, '['), std::string(100, ']')),
                   fleet_->token);
  EXPECT_EQ(deep.status, 400);
  // Over max_body_bytes (64 KiB here).
  AlertingFleet::Answer oversized =
      fleet_->Post(absl::StrCat(good.substr(0, good.size() - 1), ",\"pad\":\"",
                                std::string(100 << 10, 'x'), "\"}"),
                   fleet_->token);
  EXPECT_EQ(oversized.status, 413);
  // The limit holds for chunked bodies too (no Content-Length).
  AlertingFleet::Answer chunked = fleet_->PostChunked(200 << 10, fleet_->token);
  EXPECT_EQ(chunked.status, 413) << chunked.body;
  // A body much larger is cut off: no answer, nothing kept in memory.
  EXPECT_NE(fleet_->PostChunked(64 << 20, fleet_->token).status, 200);
  // Without the token a body is not read at all; other paths and methods.
  EXPECT_EQ(fleet_->PostChunked(1 << 10, "").status, 401);
  EXPECT_NE(fleet_->PostChunked(8 << 20, "").status, 200);
  EXPECT_EQ(fleet_->Post(good, fleet_->token, "/v1/alerts/../x").status, 404);
  EXPECT_EQ(IncidentCount(), 0);
  // Nothing reached the agent either.
  EXPECT_THAT(fleet_->controller->Log(),
              Not(HasSubstr("automatic diagnosis (")));
}

// Connects to the intake from `source` (a loopback address) and reports
// whether the connection was closed before any TLS byte came back.
bool ClosedAtAccept(const std::string& source, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{}, to{};
  from.sin_family = to.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  to.sin_port = htons(static_cast<uint16_t>(port));
  bool closed = false;
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) == 0 &&
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
    // A TLS ClientHello would get a ServerHello; a refused peer gets EOF.
    const char hello[] = "\x16\x03\x01\x00\x05hello";
    send(fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    char byte;
    closed = recv(fd, &byte, 1, 0) <= 0;
  }
  close(fd);
  return closed;
}

TEST_F(AlertIntakeE2eTest, OnlyTheAllowedSendersMayConnect) {
  // allowed_senders is 127.0.0.1: another loopback address is closed at
  // accept, before TLS, and the intake still serves its senders.
  EXPECT_TRUE(ClosedAtAccept("127.0.0.2", fleet_->intake_port));
  EXPECT_EQ(fleet_
                ->Post(Firing("DiskUsageWarning", "web-1", "00000000000000e1"),
                       fleet_->token)
                .status,
            200);

  // A sender that is not an address or network is a configuration error
  // that --check_config names, as is a host's address with a network's
  // prefix (it would have admitted the whole /8).
  const std::string config = ReadFileOrDie(dir_ + "/opsctld.textproto");
  const std::string allowed = "allowed_senders: \"127.0.0.1\"";
  ASSERT_THAT(config, HasSubstr(allowed));
  for (const auto& [sender, said] :
       {std::pair{"junk", "\"junk\" is not an IP address or range"},
        {"127.9.9.9/8", "has address bits set past its /8 prefix"}}) {
    const std::string bad = dir_ + "/bad-senders.textproto";
    testing::WriteFileOrDie(
        bad,
        absl::StrReplaceAll(
            config,
            {{allowed, absl::StrCat("allowed_senders: \"", sender, "\"")}}));
    chmod(bad.c_str(), 0600);
    absl::StatusOr<ProgramResult> checked =
        RunProgram({"controller/opsctld", "--config", bad, "--check_config"},
                   absl::Seconds(30));
    ASSERT_TRUE(checked.ok()) << checked.status();
    EXPECT_EQ(checked->exit_code, 2) << sender;
    EXPECT_THAT(checked->stderr_text,
                HasSubstr("config field alert_intake.allowed_senders"))
        << sender;
    EXPECT_THAT(checked->stderr_text, HasSubstr(said));
  }
}

TEST_F(AlertIntakeE2eTest, LabelsCannotWidenWhatDiagnosisTouches) {
  // A label that is a target expression, not a host of the inventory.
  for (const char* instance : {"role:web", "*", "web-1,web-2", "--yes"}) {
    AlertingFleet::Answer answer = fleet_->Post(
        Firing("DiskUsageWarning", instance,
               absl::StrCat(std::hash<std::string>()(instance) % 1000000)),
        fleet_->token);
    ASSERT_EQ(answer.status, 200) << instance << answer.body;
  }
  // Hosts the inventory does not know share one incident: made-up hosts do
  // not open incidents by the thousand.
  google::protobuf::Value incidents = JsonField(Incidents(), "incidents");
  ASSERT_EQ(incidents.list_value().values_size(), 1);
  const google::protobuf::Value& incident = incidents.list_value().values(0);
  EXPECT_FALSE(JsonField(incident, "host_known").bool_value());
  EXPECT_EQ(JsonField(JsonField(incident, "diagnosis"), "state").string_value(),
            "none");
  ProgramResult json =
      fleet_->alice->Run({"incident", "show", "INC-1", "--output", "json"});
  EXPECT_EQ(
      JsonField(JsonField(ParseJson(json.stdout_text), "incident"), "alerts")
          .list_value()
          .values_size(),
      4);
  // Nothing was run on web-1 by the automation identity.
  ProgramResult audit = fleet_->alice->Run({"audit", "--output", "json"});
  EXPECT_THAT(audit.stdout_text, Not(HasSubstr("opsctld-automation")));
  // Shown escaped, in a postmortem too.
  ProgramResult markdown =
      fleet_->alice->Run({"incident", "show", "INC-1", "--output", "markdown"});
  EXPECT_THAT(markdown.stdout_text,
              HasSubstr("| host | role \\(not in the inventory\\) |"));
}

TEST_F(AlertIntakeE2eTest, TheAutomationRoleIsReadOnlyOnTheAgent) {
  const std::string before = ReadFileOrDie(big_log_);
  // Through the controller: refused before it is relayed.
  ProgramResult relayed =
      fleet_->automation->Run({"truncate", "web-1", big_log_, "--yes"});
  EXPECT_NE(relayed.exit_code, 0);
  EXPECT_THAT(relayed.stderr_text, HasSubstr("read-only automation role"));
  // Straight to the agent, with a certificate that also names oncall: the
  // agent itself refuses, whatever its rules grant oncall.
  auto both =
      fleet_->ca->Issue("operator-mixed", {"mixed", {"automation", "oncall"}});
  ASSERT_TRUE(both.ok());
  OpsctlRunner direct(dir_, "mixed", both->certificate, both->private_key,
                      fleet_->ca->certificate_path(), "web-1",
                      fleet_->agent->port);
  ProgramResult truncate = direct.Run({"truncate", "web-1", big_log_, "--yes"});
  EXPECT_EQ(truncate.exit_code, 3)
      << truncate.stdout_text << truncate.stderr_text;
  EXPECT_THAT(truncate.stderr_text, HasSubstr("not allowed"));
  EXPECT_EQ(ReadFileOrDie(big_log_), before);
  // A vetted command that changes the host is refused; a view runs.
  ProgramResult touch = direct.Run({"exec", "web-1", "touch-marker", "--yes"});
  EXPECT_NE(touch.exit_code, 0);
  EXPECT_THAT(touch.stderr_text, HasSubstr("declared read_only"));
  EXPECT_NE(access((dir_ + "/marker").c_str(), F_OK), 0);
  ProgramResult list = direct.Run({"exec", "web-1", "list-logs", "--yes"});
  EXPECT_EQ(list.exit_code, 0) << list.stderr_text;
  EXPECT_THAT(list.stdout_text, HasSubstr("app.log"));
  // Reads are what it is for.
  EXPECT_EQ(direct.Run({"df", "web-1"}).exit_code, 0);
}

TEST_F(AlertIntakeE2eTest, BothDaemonsServePrometheusMetrics) {
  ASSERT_EQ(fleet_->alice->Run({"df", "web-1"}).exit_code, 0);
  ASSERT_EQ(fleet_->Post("{", fleet_->token).status, 400);
  AlertingFleet::Answer agent =
      AlertingFleet::Metrics(fleet_->agent_metrics_port);
  ASSERT_EQ(agent.status, 200);
  EXPECT_THAT(agent.body,
              HasSubstr("# TYPE opsagent_agent_requests_total counter"));
  EXPECT_THAT(agent.body, HasSubstr("opsagent_agent_requests_total{operation="
                                    "\"filesystems\",outcome=\"ok\"} 1"));
  EXPECT_THAT(agent.body,
              HasSubstr("opsagent_agent_request_duration_seconds_bucket{"
                        "operation=\"filesystems\",le=\"+Inf\"} 1"));
  AlertingFleet::Answer controller =
      AlertingFleet::Metrics(fleet_->controller_metrics_port);
  ASSERT_EQ(controller.status, 200);
  EXPECT_THAT(controller.body,
              HasSubstr("opsagent_controller_connected_agents 1"));
  EXPECT_THAT(controller.body,
              HasSubstr("opsagent_controller_requests_total{operation="
                        "\"filesystems\",outcome=\"ok\"} 1"));
  EXPECT_THAT(
      controller.body,
      HasSubstr(
          "opsagent_controller_alert_notifications_total{code=\"400\"} 1"));
  EXPECT_THAT(controller.body,
              HasSubstr("opsagent_controller_audit_append_errors_total 0"));
  // No caller, path or parameter is ever a label.
  EXPECT_THAT(agent.body, Not(HasSubstr("alice")));
  EXPECT_THAT(controller.body, Not(HasSubstr(logs_)));
  EXPECT_EQ(AlertingFleet::Metrics(fleet_->agent_metrics_port).status, 200);
}

}  // namespace
}  // namespace opsagent
