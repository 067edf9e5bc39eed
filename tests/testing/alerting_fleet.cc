#include "tests/testing/alerting_fleet.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "tests/testing/agent_process.h"

namespace opsagent::testing {

absl::StatusOr<std::unique_ptr<AlertingFleet>> AlertingFleet::Start(
    const Options& options) {
  auto fleet = std::make_unique<AlertingFleet>();
  fleet->dir = options.dir;
  fleet->logs = options.logs;
  fleet->agent_config = options.agent_config;
  absl::StatusOr<std::unique_ptr<TestCertificateAuthority>> ca =
      TestCertificateAuthority::Create(options.dir, "fleet");
  if (!ca.ok()) return ca.status();
  fleet->ca = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));

  fleet->token = "3f9d1c0b7a6e5d4c3b2a19087f6e5d4c";
  const std::string token_file = options.dir + "/alert-token";
  WriteFileOrDie(token_file, fleet->token + "\n");
  chmod(token_file.c_str(), 0600);
  fleet->grafana_token = "8c1e5a9f0b3d7e2c6a4f1b8d0e9c7a5b";
  const std::string grafana_token_file = options.dir + "/grafana-token";
  WriteFileOrDie(grafana_token_file, fleet->grafana_token + "\n");
  chmod(grafana_token_file.c_str(), 0600);
  fleet->runbooks =
      options.runbooks.empty() ? options.dir + "/runbooks" : options.runbooks;
  if (options.runbooks.empty()) {
    mkdir(fleet->runbooks.c_str(), 0700);
    WriteFileOrDie(
        fleet->runbooks + "/web.textproto",
        absl::StrCat(
            "entry {\n  id: \"web-disk\"\n  product: \"Web\"\n"
            "  alert: \"DiskUsageWarning web\"\n"
            "  diagnosis { title: \"Filesystems\" opsctl: [\"df\", "
            "\"{target}\"] automatic: true }\n"
            "  diagnosis { title: \"Largest under the logs\" opsctl: [\"du\", "
            "\"{target}\", \"",
            options.logs,
            "\", \"--top\", \"3\"] automatic: true }\n"
            "  mitigation { title: \"Truncate the log\" opsctl: [\"truncate\", "
            "\"{target}\", \"",
            options.logs, "/app.log\"] }\n}\n"));
  }

  absl::StatusOr<CertificateFiles> automation_cert = fleet->ca->Issue(
      "operator-automation", {"opsctld-automation", {"automation"}});
  if (!automation_cert.ok()) return automation_cert.status();
  // Its opsctl goes through the controller; the port is known once it runs,
  // so its config is completed below.
  fleet->automation = std::make_unique<OpsctlRunner>(
      options.dir, "automation", automation_cert->certificate,
      automation_cert->private_key, fleet->ca->certificate_path(), "web-1", 1);
  fleet->automation->AppendConfig(
      absl::StrCat("runbooks: \"", fleet->runbooks, "\"\n"));

  TestController::Options controller;
  controller.dir = options.dir;
  controller.ca = fleet->ca.get();
  controller.extra_config = absl::StrCat(
      "access { roles: \"automation\" permissions: [\"run\", \"hosts\"] }\n"
      "metrics_listen_address: \"127.0.0.1:0\"\n"
      "alert_intake {\n  listen_address: \"127.0.0.1:0\"\n"
      // The intake serves HTTPS with the controller's own certificate.
      "  certificate: \"CONTROLLER_CERT\"\n  private_key: "
      "\"CONTROLLER_KEY\"\n",
      "  allowed_senders: \"127.0.0.1\"\n  bearer_token_file: \"", token_file,
      "\"\n  senders { name: \"grafana\" bearer_token_file: \"",
      grafana_token_file, "\" }\n  max_body_bytes: ", options.max_body_bytes,
      "\n  runbooks: \"", fleet->runbooks,
      "\"\n  automation {\n    opsctl_config: \"",
      fleet->automation->config_path(),
      "\"\n    min_interval_seconds: 3600\n  }\n}\n",
      options.controller_config);
  absl::StatusOr<std::unique_ptr<TestController>> started =
      TestController::Start(controller);
  if (!started.ok()) return started.status();
  fleet->controller = *std::move(started);
  fleet->automation->AppendConfig(fleet->controller->OpsctlConfig());
  absl::StatusOr<int> intake = fleet->controller->LoggedPort("alert intake:");
  if (!intake.ok()) return intake.status();
  fleet->intake_port = *intake;
  absl::StatusOr<int> metrics = fleet->controller->LoggedPort("metrics:");
  if (!metrics.ok()) return metrics.status();
  fleet->controller_metrics_port = *metrics;

  absl::StatusOr<std::unique_ptr<TestAgent>> web =
      fleet->StartLinkedAgent(options.host_name, options.first_agent);
  if (!web.ok()) return web.status();
  fleet->agent = *std::move(web);
  std::optional<int> agent_metrics =
      LoggedPort(fleet->agent->process->Log(), "metrics: GET");
  if (!agent_metrics.has_value())
    return absl::NotFoundError(absl::StrCat(
        "the agent logged no metrics port:\n", fleet->agent->process->Log()));
  fleet->agent_metrics_port = *agent_metrics;

  absl::StatusOr<CertificateFiles> alice =
      fleet->ca->Issue("operator-alice", {"alice", {"oncall"}});
  if (!alice.ok()) return alice.status();
  fleet->alice = std::make_unique<OpsctlRunner>(
      options.dir, "alice", alice->certificate, alice->private_key,
      fleet->ca->certificate_path(), options.host_name, 1);
  fleet->alice->AppendConfig(absl::StrCat(fleet->controller->OpsctlConfig(),
                                          "runbooks: \"", fleet->runbooks,
                                          "\"\n"));
  return fleet;
}

absl::StatusOr<std::unique_ptr<TestAgent>> AlertingFleet::StartLinkedAgent(
    const std::string& host_name) const {
  return StartLinkedAgent(host_name, LinkedAgentOptions());
}

absl::StatusOr<std::unique_ptr<TestAgent>> AlertingFleet::StartLinkedAgent(
    const std::string& host_name, const LinkedAgentOptions& options) const {
  TestAgent::Options agent;
  agent.dir = absl::StrCat(dir, "/", host_name);
  mkdir(agent.dir.c_str(), 0700);
  agent.host_name = host_name;
  agent.ca = ca;
  std::string roles;
  for (const std::string& role : options.roles)
    absl::StrAppend(&roles, "roles: \"", role, "\"\n");
  agent.extra_config =
      absl::StrCat(controller->AgentConfig(), "journal_path: \"",
                   options.journal_path.empty() ? agent.dir + "/journal.jsonl"
                                                : options.journal_path,
                   "\"\n", roles, "environment: \"test\"\ninspection_roots: \"",
                   logs, "\"\ntruncatable_logs: \"", logs,
                   "/*.log\"\n"
                   "authorization { roles: \"automation\" operations: \"*\" }\n"
                   "metrics_listen_address: \"127.0.0.1:0\"\n",
                   agent_config, options.extra_config);
  absl::StatusOr<std::unique_ptr<TestAgent>> started = TestAgent::Start(agent);
  if (!started.ok()) return started.status();
  if (!Eventually([&] {
        return absl::StrContains((*started)->process->Log(),
                                 "connected to the controller");
      }))
    return absl::DeadlineExceededError(
        absl::StrCat(host_name, " did not link to the controller"));
  return started;
}

AlertingFleet::Answer AlertingFleet::Post(const std::string& body,
                                          const std::string& token,
                                          const std::string& path) const {
  // A refused request may close the socket under OpenSSL's write(2).
  signal(SIGPIPE, SIG_IGN);
  httplib::SSLClient client("127.0.0.1", intake_port);
  client.set_ca_cert_path(ca->certificate_path().c_str());
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(30, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result result =
      client.Post(path.c_str(), headers, body, "application/json");
  if (!result) return {};
  return {result->status, result->body};
}

AlertingFleet::Answer AlertingFleet::PostChunked(
    size_t bytes, const std::string& token) const {
  signal(SIGPIPE, SIG_IGN);
  httplib::SSLClient client("127.0.0.1", intake_port);
  client.set_ca_cert_path(ca->certificate_path().c_str());
  client.enable_server_certificate_verification(true);
  client.set_read_timeout(30, 0);
  httplib::Headers headers = {{"Authorization", "Bearer " + token}};
  const std::string chunk(64 << 10, 'x');
  httplib::Result result = client.Post(
      "/v1/alerts", headers,
      [&](size_t offset, httplib::DataSink& sink) {
        if (offset >= bytes) {
          sink.done();
          return true;
        }
        return sink.write(chunk.data(), std::min(chunk.size(), bytes - offset));
      },
      "application/json");
  if (!result) return {};
  return {result->status, result->body};
}

AlertingFleet::Answer AlertingFleet::Metrics(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(10, 0);
  httplib::Result result = client.Get("/metrics");
  if (!result) return {};
  return {result->status, result->body};
}

std::string AlertmanagerNotification(const std::string& status,
                                     const std::string& alertname,
                                     const std::string& instance,
                                     const std::string& fingerprint,
                                     const std::string& starts_at,
                                     const std::string& ends_at) {
  return absl::StrCat(
      R"({"version":"4","groupKey":"{}:{alertname=\")", alertname,
      R"(\"}","status":")", status,
      R"(","receiver":"opsctld","groupLabels":{"alertname":")", alertname,
      R"("},"commonLabels":{"alertname":")", alertname,
      R"("},"commonAnnotations":{},"externalURL":"http://alertmanager:9093",)",
      R"("alerts":[{"status":")", status, R"(","labels":{"alertname":")",
      alertname, R"(","instance":")", instance,
      R"(","device":"/dev/nvme0n1p1","mountpoint":"/","environment":"test",)",
      R"("job":"integrations/linux_host","severity":"warning"},)",
      R"("annotations":{"description":"Filesystem on /dev/nvme0n1p1 at )",
      instance, R"( is 85.02% full."},"startsAt":")", starts_at,
      R"(","endsAt":")", ends_at.empty() ? "0001-01-01T00:00:00Z" : ends_at,
      R"(","generatorURL":"http://prometheus:9090/graph","fingerprint":")",
      fingerprint, R"("}]})");
}

}  // namespace opsagent::testing
