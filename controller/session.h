#ifndef OPSAGENT_CONTROLLER_SESSION_H_
#define OPSAGENT_CONTROLLER_SESSION_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/action_runner.h"
#include "controller/agent_client.h"
#include "controller/audit/audit_store.h"
#include "controller/cli/command_line.h"
#include "controller/fan_out.h"
#include "controller/inventory.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

enum class OutputFormat { kTable, kJson, kCsv };

// One invocation of opsctl: the global options, and the operator config,
// inventory and audit log, each loaded on first use so that commands that do
// not need them (help, hosts) do not fail for want of them.
class Session {
 public:
  // Reads the global flags (--config, --output, --reason, --incident,
  // --timeout) from `args`.
  static absl::StatusOr<std::unique_ptr<Session>> FromArgs(
      const ParsedArgs& args);

  // The global flags every subcommand accepts.
  static const std::vector<FlagSpec>& GlobalFlags();

  absl::StatusOr<const v1::OperatorConfig*> config();
  absl::StatusOr<const Inventory*> inventory();
  absl::StatusOr<AuditStore*> audit();
  absl::StatusOr<std::unique_ptr<AgentClient>> Connect(const v1::Host& host);
  // An ActionRunner that audits into this session's log.
  absl::StatusOr<ActionRunner> Runner();

  OutputFormat output() const { return output_; }
  const FanOutOptions& fan_out() const { return fan_out_; }
  // Gives this invocation a run id (once) so that its actions on many
  // hosts are grouped in the audit log; returns it.
  const std::string& StartRun();
  // For commands that change something: whether to only report.
  void set_dry_run(bool dry_run) { context_.dry_run = dry_run; }
  // Commands that wait on the host (restarts) need longer than one call's
  // default; an explicit --timeout still wins.
  void set_minimum_timeout(absl::Duration timeout) {
    minimum_timeout_ = timeout;
  }
  // The message of a failed call, with what opsctl can diagnose locally
  // added (an expired operator certificate, an untrusted agent).
  std::string Explain(const absl::Status& status, const v1::Host& host);

 private:
  Session() = default;

  std::string config_path_;
  OutputFormat output_ = OutputFormat::kTable;
  ActionContext context_;
  std::optional<absl::Duration> timeout_;
  FanOutOptions fan_out_;
  absl::Duration minimum_timeout_ = absl::ZeroDuration();
  std::optional<v1::OperatorConfig> config_;
  std::optional<Inventory> inventory_;
  std::unique_ptr<AuditStore> audit_;
  absl::Mutex credentials_mutex_;
  // Built once and shared by every host's connection.
  std::shared_ptr<grpc::ChannelCredentials> credentials_
      ABSL_GUARDED_BY(credentials_mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SESSION_H_
