#ifndef OPSAGENT_TESTS_TESTING_OPSCTL_RUNNER_H_
#define OPSAGENT_TESTS_TESTING_OPSCTL_RUNNER_H_

#include <string>
#include <vector>

#include "common/subprocess.h"
#include "controller/audit/audit_store.h"
#include "google/protobuf/struct.pb.h"

namespace opsagent::testing {

// Runs the real opsctl binary as one operator against one host, with its
// own operator config, inventory and audit database under `dir`.
class OpsctlRunner {
 public:
  OpsctlRunner(const std::string& dir, const std::string& name,
               const std::string& certificate, const std::string& private_key,
               const std::string& ca_certificate, const std::string& host,
               int port, const std::string& audit_path = "");

  // opsctl ARGS...; a failure to run at all is reported as exit code -1.
  // It sees this process's environment plus `extra_env` ("NAME=VALUE").
  ProgramResult Run(const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_env = {}) const;
  // opsctl ARGS... on a pseudo-terminal, as a person at a shell runs it: the
  // first "[y/N]" question it asks is answered with `answer`. Returns what
  // the terminal showed (stdout and stderr together) as stdout_text.
  ProgramResult RunOnTerminal(const std::vector<std::string>& args,
                              const std::string& answer) const;
  // Starts opsctl without waiting; its output goes to the given files.
  absl::StatusOr<Subprocess> Start(const std::vector<std::string>& args,
                                   const std::string& stdout_path,
                                   const std::string& stderr_path) const;

  // Every row of this operator's audit database, oldest first.
  std::vector<v1::AuditEntry> AuditRows() const;

  // Replaces the inventory (Protobuf text) with several hosts.
  void WriteInventory(const std::string& text) const;
  // Adds lines to the operator config (a controller to go through).
  void AppendConfig(const std::string& text) const;

  const std::string& config_path() const { return config_path_; }
  const std::string& audit_path() const { return audit_path_; }

 private:
  std::string config_path_;
  std::string inventory_path_;
  std::string audit_path_;
};

// Parses JSON (as opsctl --output json prints it).
google::protobuf::Value ParseJson(const std::string& text);
// object[name], or a null value when missing.
const google::protobuf::Value& JsonField(const google::protobuf::Value& object,
                                         const std::string& name);

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_OPSCTL_RUNNER_H_
