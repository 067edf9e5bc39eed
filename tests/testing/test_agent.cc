#include "tests/testing/test_agent.h"

#include <csignal>

#include "absl/strings/str_cat.h"

namespace opsagent::testing {

absl::StatusOr<std::unique_ptr<TestAgent>> TestAgent::Start(
    const Options& options) {
  const std::string& dir = options.dir;
  const std::string& host_name = options.host_name;
  auto agent = std::make_unique<TestAgent>();
  agent->dir = dir;
  agent->host_name = host_name;
  if (options.ca != nullptr) {
    agent->ca = options.ca;
  } else {
    absl::StatusOr<std::unique_ptr<TestCertificateAuthority>> ca =
        TestCertificateAuthority::Create(dir, "main");
    if (!ca.ok()) return ca.status();
    agent->ca = *std::move(ca);
  }
  CertificateSpec spec{host_name, {}, {host_name}, {"127.0.0.1"}};
  spec.server = true;
  absl::StatusOr<CertificateFiles> cert =
      agent->ca->Issue(absl::StrCat("agent-", host_name), spec);
  if (!cert.ok()) return cert.status();
  agent->certificate = *cert;
  absl::StatusOr<CertificateFiles> oncall = agent->ca->Issue(
      absl::StrCat("oncall-", host_name), {"alice", {"oncall"}});
  if (!oncall.ok()) return oncall.status();
  agent->oncall = *oncall;
  if (options.before_start) options.before_start(*agent);
  auto config = [&](int port) {
    return absl::StrCat(
        options.listener
            ? absl::StrCat("listen_address: \"127.0.0.1:", port, "\"\n")
            : "",
        "tls { certificate: \"", cert->certificate, "\" private_key: \"",
        cert->private_key, "\" ca_certificate: \"",
        agent->ca->certificate_path(), "\" ", options.tls_config,
        " }\nhostname: \"", host_name, "\"\n",
        "authorization { roles: \"oncall\" operations: \"*\" }\n",
        options.extra_config);
  };
  absl::StatusOr<std::unique_ptr<AgentProcess>> process =
      AgentProcess::Start(dir, config(0));
  if (!process.ok()) return process.status();
  agent->process = *std::move(process);
  agent->port = agent->process->port();
  // A restart comes back on the same port.
  agent->config_text = config(agent->port);
  return agent;
}

absl::StatusOr<std::unique_ptr<AgentClient>> TestAgent::Client(
    absl::Duration timeout) const {
  v1::Host host;
  host.set_name(host_name);
  host.set_address(absl::StrCat("127.0.0.1:", port));
  return AgentClient::Connect(
      {oncall.certificate, oncall.private_key, ca->certificate_path()}, host,
      timeout);
}

absl::Status TestAgent::Restart(int signal) {
  // Already dead (a test killed it) is fine too.
  process->process().Signal(signal);
  if (!process->process().Wait(absl::Seconds(20)).ok()) {
    process->process().Signal(SIGKILL);
    process->process().Wait(absl::Seconds(10)).IgnoreError();
  }
  absl::StatusOr<std::unique_ptr<AgentProcess>> restarted =
      AgentProcess::Start(dir, config_text);
  if (!restarted.ok()) return restarted.status();
  process = *std::move(restarted);
  return absl::OkStatus();
}

std::unique_ptr<OpsctlRunner> TestAgent::Oncall(
    const std::string& name, const std::string& audit_path) const {
  return std::make_unique<OpsctlRunner>(
      dir, name, oncall.certificate, oncall.private_key, ca->certificate_path(),
      host_name, port, audit_path);
}

}  // namespace opsagent::testing
