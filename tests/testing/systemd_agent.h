#ifndef OPSAGENT_TESTS_TESTING_SYSTEMD_AGENT_H_
#define OPSAGENT_TESTS_TESTING_SYSTEMD_AGENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/subprocess.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

namespace opsagent::testing {

// The real opsagent as a service of Debian's systemd, which runs as PID 1 of
// a private PID and mount namespace (systemd_namespace), under the hardened
// unit shipped in deploy/systemd/opsagent.service with only its paths
// changed, and with journald running beside it. Comes with a test CA, an agent
// certificate for "localhost" and an operator "alice" (role oncall, granted
// everything). Needs root. Everything in the namespace is killed when the
// SystemdAgent is destroyed.
class SystemdAgent {
 public:
  struct Options {
    std::string dir;  // units, configuration, certificates and logs go here
    // Appended to the agent's configuration (restartable units, limits...).
    std::string agent_config;
    // Other units, by file name, started with the agent.
    std::map<std::string, std::string> units;
    // Lines added to the [Service] section of opsagent.service, as a
    // drop-in would (WatchdogSec=4s).
    std::string unit_overrides;
  };

  static absl::StatusOr<std::unique_ptr<SystemdAgent>> Start(
      const Options& options);
  ~SystemdAgent();

  // `systemctl show -p PROPERTY --value UNIT` inside the namespace.
  std::string Show(const std::string& unit, const std::string& property) const;
  // Runs a program inside the namespace (its mounts and PIDs).
  absl::StatusOr<ProgramResult> RunInside(
      const std::vector<std::string>& argv) const;
  // What the agent wrote to stderr, across restarts.
  std::string AgentLog() const;

  OpsctlRunner& oncall() const { return *oncall_; }
  const CertificateFiles& oncall_files() const { return oncall_files_; }
  TestCertificateAuthority& ca() const { return *ca_; }
  const std::string& dir() const { return dir_; }
  // Fixed for the agent's life, restarts included, so opsctl finds it again.
  int port() const { return port_; }

 private:
  SystemdAgent() = default;

  std::string dir_;
  int port_ = 0;
  int init_pid_ = 0;
  std::unique_ptr<TestCertificateAuthority> ca_;
  CertificateFiles oncall_files_;
  std::unique_ptr<OpsctlRunner> oncall_;
  std::unique_ptr<Subprocess> launcher_;
};

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_SYSTEMD_AGENT_H_
