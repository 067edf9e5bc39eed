#ifndef OPSAGENT_TESTS_TESTING_TEST_CONTROLLER_H_
#define OPSAGENT_TESTS_TESTING_TEST_CONTROLLER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/subprocess.h"
#include "tests/testing/test_pki.h"

namespace opsagent::testing {

// The real opsctld, with a controller certificate (Options::name,
// "opsctld.test" by default, OU=controller) from the test CA that also signs
// the agents and operators, its audit database under `dir`, on loopback port 0
// (it reports its port), granting role oncall everything. Killed when
// destroyed.
class TestController {
 public:
  struct Options {
    std::string dir;
    TestCertificateAuthority* ca = nullptr;
    // Appended to opsctld's configuration (access rules, inventory);
    // CONTROLLER_CERT and CONTROLLER_KEY stand for its certificate's files.
    std::string extra_config;
    uint32_t heartbeat_seconds = 1;
    // The team's audit database; by default DIR/team-audit.db.
    std::string audit_database;
    // The DNS name its certificate carries (several controllers in one
    // test each have their own).
    std::string name = "opsctld.test";
  };
  static absl::StatusOr<std::unique_ptr<TestController>> Start(
      const Options& options);
  ~TestController();

  // What an agent's configuration needs to link to this controller, as the
  // agent configuration's `field` ("more_controllers" for a further one).
  std::string AgentConfig(absl::string_view field = "controller") const;
  // What an operator's configuration needs to go through it.
  std::string OpsctlConfig() const;

  // SIGKILL, as a crash would.
  void Kill();
  // Starts it again with the same configuration and port.
  absl::Status Restart();

  int port() const { return port_; }
  // The DNS name its certificate carries (Options::name).
  const std::string& name() const { return name_; }
  // The port of a listener opsctld logs as "MARKER ... (port N)" ("alert
  // intake:", "metrics:"), waiting for the line.
  absl::StatusOr<int> LoggedPort(absl::string_view marker) const;
  pid_t pid() const { return process_ == nullptr ? -1 : process_->pid(); }
  const std::string& audit_path() const { return audit_path_; }
  std::string Log() const;
  const CertificateFiles& certificate() const { return certificate_; }

 private:
  TestController() = default;
  absl::Status Launch();

  std::string dir_;
  std::string config_text_;
  std::string name_;
  std::string audit_path_;
  CertificateFiles certificate_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_TEST_CONTROLLER_H_
