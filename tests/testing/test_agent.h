#ifndef OPSAGENT_TESTS_TESTING_TEST_AGENT_H_
#define OPSAGENT_TESTS_TESTING_TEST_AGENT_H_

#include <csignal>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/agent_client.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

namespace opsagent::testing {

// The usual end-to-end set-up: a test CA, an agent certificate for
// `host_name` (DNS SAN and 127.0.0.1), an operator "alice" with role oncall,
// and the real opsagent on loopback (port 0: it reports the port it bound)
// granting oncall everything.
struct TestAgent {
  struct Options {
    std::string dir;
    std::string host_name = "localhost";
    // Appended to the agent configuration (commands, allow-lists, more
    // authorization rules, ...).
    std::string extra_config;
    // Added inside its `tls { }` block (crl_directory, refresh interval).
    std::string tls_config;
    // Runs once the PKI exists and before the agent starts (to write CRLs,
    // issue more certificates).
    std::function<void(TestAgent&)> before_start;
    // A CA shared with other agents, a controller and operators; by default
    // the agent gets one of its own.
    std::shared_ptr<TestCertificateAuthority> ca;
    // False: no listener at all, only a controller link (in extra_config).
    bool listener = true;
  };
  static absl::StatusOr<std::unique_ptr<TestAgent>> Start(
      const Options& options);
  static absl::StatusOr<std::unique_ptr<TestAgent>> Start(
      const std::string& dir, const std::string& host_name,
      const std::string& extra_config = "") {
    return Start(Options{dir, host_name, extra_config});
  }

  // opsctl as alice against this agent, with files under `dir` named `name`;
  // `audit_path` overrides where its audit database lives.
  std::unique_ptr<OpsctlRunner> Oncall(
      const std::string& name, const std::string& audit_path = "") const;

  // A direct gRPC client authenticated as alice, for calls that need a
  // chosen request id.
  absl::StatusOr<std::unique_ptr<AgentClient>> Client(
      absl::Duration timeout = absl::Seconds(30)) const;

  // Stops the agent with `signal` (SIGKILL as a crash would, SIGTERM as
  // systemd stops it) and starts it again with the same configuration on the
  // same port.
  absl::Status Restart(int signal = SIGKILL);

  std::string dir;
  // The configuration it runs with, its port filled in once bound.
  std::string config_text;
  std::string host_name;
  int port = 0;
  std::shared_ptr<TestCertificateAuthority> ca;
  CertificateFiles certificate;  // the agent's own
  CertificateFiles oncall;
  std::unique_ptr<AgentProcess> process;
};

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_TEST_AGENT_H_
