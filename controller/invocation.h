#ifndef OPSAGENT_CONTROLLER_INVOCATION_H_
#define OPSAGENT_CONTROLLER_INVOCATION_H_

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/agent_client.h"
#include "controller/audit/audit_store.h"
#include "controller/auditing_caller.h"
#include "controller/command_line.h"
#include "controller/controller_client.h"
#include "controller/fan_out.h"
#include "controller/inventory.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

// How a command prints: CSV is for `audit`, Markdown for `incident show`;
// other commands print a table for both.
enum class OutputFormat { kTable, kJson, kCsv, kMarkdown };

// "table", "json", "csv" or "markdown" (--output); INVALID_ARGUMENT for
// anything else.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name);
absl::string_view OutputFormatName(OutputFormat format);

// One run of opsctl: its global options, and the operator config, inventory,
// audit log and TLS credentials, each loaded on first use so that commands
// that do not need them (help, hosts) do not fail for want of them. What
// one call needs beyond these (dry run, a longer deadline) travels with the
// call (OperationCall), so the steps of a runbook run share nothing else.
class Invocation {
 public:
  // Reads the global flags (--config, --output, --reason, --incident,
  // --ticket, --timeout, --concurrency, --max-failures, --direct) from `args`.
  static absl::StatusOr<std::unique_ptr<Invocation>> FromArgs(
      const ParsedArgs& args);

  // The global flags every subcommand accepts.
  static const std::vector<FlagSpec>& GlobalFlags();

  absl::StatusOr<const v1::OperatorConfig*> config();
  absl::StatusOr<const Inventory*> inventory();
  absl::StatusOr<AuditStore*> audit();
  // The operator's TLS credentials, built once and shared by every host's
  // connection; an error is a local problem (unreadable certificate files).
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials();
  // A client for `host` whose calls wait at least `minimum_timeout` (unless
  // --timeout says otherwise).
  absl::StatusOr<std::unique_ptr<AgentClient>> Connect(
      const v1::Host& host, absl::Duration minimum_timeout);
  // Audits calls into this invocation's log, as this operator.
  absl::StatusOr<AuditingCaller> Caller();

  // Whether commands go through the team's controller: one is configured
  // and --direct (break-glass) was not given.
  bool via_controller();
  // The controllers' client (`controller`, then `more_controllers`),
  // connected on first use; it reports each controller it gives up on as
  // one line on err().
  absl::StatusOr<ControllerClient*> controller();
  // One unary call to the controller (`&ControllerStub::ListHosts`), given
  // at least `minimum` (--timeout wins) and never past this invocation's
  // deadline; a controller that cannot be reached is the error.
  template <typename Request, typename Reply>
  absl::StatusOr<Reply> AskController(
      grpc::Status (ControllerStub::*rpc)(grpc::ClientContext*, const Request&,
                                          Reply*),
      const Request& request, absl::Duration minimum = absl::Seconds(30)) {
    absl::StatusOr<ControllerClient*> client = controller();
    if (!client.ok()) return client.status();
    return (*client)->Call(rpc, request, CallTimeout(minimum));
  }
  // Who runs opsctl (the OS user, a sudo claim, the certificate's CN).
  OperatorIdentity who();
  const RunContext& context() const { return context_; }
  // What the actions sent from now on record as their reason (a runbook run
  // adds the step each action is for to the operator's own).
  void set_reason(std::string reason) { context_.reason = std::move(reason); }
  // Whether the agents are asked to change nothing (RequestMeta.read_only).
  void set_read_only(bool read_only) { context_.read_only = read_only; }
  // The deadline of one call that needs at least `minimum` (--timeout wins).
  absl::Duration CallTimeout(absl::Duration minimum);

  OutputFormat output() const { return output_; }
  // Where the command prints its output and its errors: stdout and stderr,
  // unless it runs inside another program (RunCapturedCommand).
  FILE* out() const { return out_ != nullptr ? out_ : stdout; }
  FILE* err() const { return err_ != nullptr ? err_ : stderr; }
  void WriteTo(FILE* out, FILE* err) {
    out_ = out;
    err_ = err;
  }
  // Whether a progress line may be drawn: errors go to a terminal.
  bool ShowsProgress() const;
  // How a person is asked before a change: opsctl's main sets its terminal
  // prompt. OK if they said yes; an error saying why not otherwise.
  using Asker = absl::Status (*)(const std::string& question);
  void set_asker(Asker asker) { asker_ = asker; }
  // `question` answered: yes at once if `assume_yes` (--yes); otherwise
  // the asker's answer, and no without one (inside opsctld nobody is
  // there to ask).
  absl::Status Confirm(const std::string& question, bool assume_yes) const;
  // Whether the command runs inside opsctld (RunCapturedCommand): identity
  // claims are then not read from the environment (opsctld's SUDO_USER is
  // nobody's claim), and the runbooks served are not kept for --direct (the
  // automation has no break-glass path).
  bool inside_daemon() const { return inside_daemon_; }
  void set_inside_daemon() { inside_daemon_ = true; }
  // A time by which every call must end (--timeout and the config shorten
  // each, never lengthen past it).
  void set_deadline(absl::Time deadline) { deadline_ = deadline; }
  const FanOutOptions& fan_out() const { return fan_out_; }
  // Gives this invocation a run id, once, so that its actions on many hosts
  // (a fan-out, a runbook run) are grouped in the audit log.
  const std::string& EnsureRunId();
  const std::string& run_id() const { return context_.run_id; }
  // The message of a failed call, with what opsctl can diagnose locally
  // added (an expired operator certificate, an untrusted agent).
  std::string Explain(const absl::Status& status, const v1::Host& host);

 private:
  Invocation() = default;

  std::string config_path_;
  bool direct_ = false;
  OutputFormat output_ = OutputFormat::kTable;
  RunContext context_;
  std::optional<absl::Duration> timeout_;
  std::optional<absl::Time> deadline_;
  FILE* out_ = nullptr;
  bool inside_daemon_ = false;
  Asker asker_ = nullptr;
  FILE* err_ = nullptr;
  FanOutOptions fan_out_;
  std::optional<v1::OperatorConfig> config_;
  std::optional<Inventory> inventory_;
  std::unique_ptr<AuditStore> audit_;
  std::unique_ptr<ControllerClient> controller_;
  absl::Mutex credentials_mutex_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_
      ABSL_GUARDED_BY(credentials_mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_INVOCATION_H_
