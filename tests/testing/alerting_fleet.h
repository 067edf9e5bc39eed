#ifndef OPSAGENT_TESTS_TESTING_ALERTING_FLEET_H_
#define OPSAGENT_TESTS_TESTING_ALERTING_FLEET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent::testing {

// How one agent of an AlertingFleet differs from web-1.
struct LinkedAgentOptions {
  // Its `roles` lines (each one role).
  std::vector<std::string> roles = {"web"};
  // Where it keeps its journal; "" means DIR/HOST/journal.jsonl.
  std::string journal_path;
  // Appended to its configuration after the fleet's `agent_config`.
  std::string extra_config;
};

// The real opsctld with its alert intake (HTTPS on loopback, two senders
// with their own bearer token files: "default" and "grafana") and automatic
// diagnosis through the real opsctl as the automation identity, one real agent
// "web-1" (role web) that links to it and grants the automation role read-only
// operations, a runbook entry "web-disk"
// ("DiskUsageWarning web": df and du of `logs` automatically, truncate by a
// person), and operator alice (oncall) through the controller. Both daemons
// serve /metrics. Everything lives under `dir`.
struct AlertingFleet {
  struct Options {
    std::string dir;
    // The directory the agent may inspect and whose *.log files it may
    // truncate; the du step looks there.
    std::string logs;
    // Appended to the agent's configuration.
    std::string agent_config;
    // alert_intake.max_body_bytes.
    uint32_t max_body_bytes = 65536;
    // Appended to the controller's configuration (e.g. `inventory`).
    std::string controller_config;
    // A runbooks directory (0700, its files 0600) the controller and the
    // operators use instead of one holding only the "web-disk" entry.
    std::string runbooks;
    // The first agent, linked before Start returns: its host name and how
    // it differs from web-1.
    std::string host_name = "web-1";
    LinkedAgentOptions first_agent;
  };
  static absl::StatusOr<std::unique_ptr<AlertingFleet>> Start(
      const Options& options);

  // An HTTP answer.
  struct Answer {
    int status = 0;  // 0: no answer (connection failed)
    std::string body;
  };
  // POSTs `body` to `path` of the intake with `token` as the bearer token
  // ("" sends none), verifying the intake's certificate.
  Answer Post(const std::string& body, const std::string& token,
              const std::string& path = "/v1/alerts") const;
  // POSTs `bytes` of 'x' with chunked framing (no Content-Length).
  Answer PostChunked(size_t bytes, const std::string& token) const;
  // GET /metrics from a plain HTTP port on loopback.
  static Answer Metrics(int port);

  // Starts another agent, configured as web-1 is (role web, the same logs
  // and automation grant), for `host_name` under dir/host_name, and waits
  // until it has linked to the controller.
  absl::StatusOr<std::unique_ptr<TestAgent>> StartLinkedAgent(
      const std::string& host_name) const;
  // The same with other roles, journal or configuration.
  absl::StatusOr<std::unique_ptr<TestAgent>> StartLinkedAgent(
      const std::string& host_name, const LinkedAgentOptions& options) const;

  std::string dir;
  std::string logs;
  std::string agent_config;
  std::string token;          // the sender "default" (bearer_token_file)
  std::string grafana_token;  // the sender "grafana" (senders)
  std::string runbooks;
  std::shared_ptr<TestCertificateAuthority> ca;
  std::unique_ptr<TestController> controller;
  std::unique_ptr<TestAgent> agent;
  std::unique_ptr<OpsctlRunner> alice;       // oncall, through the controller
  std::unique_ptr<OpsctlRunner> automation;  // the automation identity
  int intake_port = 0;
  int controller_metrics_port = 0;
  int agent_metrics_port = 0;
};

// An Alertmanager webhook body (version 4) for one alert.
std::string AlertmanagerNotification(const std::string& status,
                                     const std::string& alertname,
                                     const std::string& instance,
                                     const std::string& fingerprint,
                                     const std::string& starts_at,
                                     const std::string& ends_at = "");

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_ALERTING_FLEET_H_
