#ifndef OPSAGENT_CONTROLLER_ACTION_RUNNER_H_
#define OPSAGENT_CONTROLLER_ACTION_RUNNER_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "controller/audit/audit_store.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

// Who is acting: the identity in the operator certificate, and the local OS
// user opsctl really runs as (getuid, which a caller cannot choose). Under
// sudo that is root; SUDO_USER names who ran sudo, but any caller can set
// it, so it is kept apart as a claim.
struct OperatorIdentity {
  std::string os_user;
  std::string cert_identity;
  int64_t os_uid = -1;
  std::string sudo_user;
};

// What the operator said about this run of opsctl.
struct ActionContext {
  std::string reason;
  std::string incident;
  std::string run_id;
  bool dry_run = false;
};

// One operation to send to one host.
struct ActionSpec {
  std::string operation;
  std::string parameters_json = "{}";
  bool mutating = false;
};

// How an audited action went. `sent` is false when the intent could not be
// recorded, in which case nothing was sent.
template <typename Reply>
struct ActionReport {
  bool sent = false;
  AuditOutcome outcome = AuditOutcome::kPending;
  absl::Status status;
  std::optional<Reply> reply;
  std::string request_id;
};

// The audit outcome for a call that ended with `status`. A mutating call that
// may have reached the agent before failing is kUnknown, never kOk.
AuditOutcome ClassifyOutcome(const absl::Status& status, bool mutating);

// A random UUID (version 4) used as request id.
std::string NewRequestId();

// Runs operations with an audit intent written before sending and the outcome
// written after, so the audit log holds every action opsctl ever sent. Safe
// to use from several threads at once (a fan-out).
class ActionRunner {
 public:
  ActionRunner(AuditStore* audit, OperatorIdentity who, ActionContext context)
      : audit_(audit), who_(std::move(who)), context_(std::move(context)) {}

  template <typename Reply>
  ActionReport<Reply> Run(
      const v1::Host& host, const ActionSpec& spec,
      const std::function<absl::StatusOr<Reply>(const v1::RequestMeta&)>& call,
      const std::function<std::string(const Reply&)>& summarize) {
    ActionReport<Reply> report;
    absl::StatusOr<Pending> pending = Begin(host, spec);
    if (!pending.ok()) {
      report.status = pending.status();
      return report;
    }
    report.sent = true;
    report.request_id = pending->meta.request_id();
    absl::StatusOr<Reply> reply = call(pending->meta);
    report.status = reply.status();
    report.outcome = ClassifyOutcome(reply.status(), spec.mutating);
    std::string summary;
    if (reply.ok()) {
      summary = summarize(*reply);
      report.reply = *std::move(reply);
    }
    absl::Status recorded =
        Finish(pending->row, report.outcome, report.status, summary);
    if (!recorded.ok() && report.status.ok()) report.status = recorded;
    return report;
  }

  const OperatorIdentity& who() const { return who_; }

 private:
  // An action whose intent is recorded: its audit row and what to send.
  struct Pending {
    int64_t row;
    v1::RequestMeta meta;
  };
  absl::StatusOr<Pending> Begin(const v1::Host& host, const ActionSpec& spec);
  absl::Status Finish(int64_t row, AuditOutcome outcome,
                      const absl::Status& status, const std::string& summary);

  AuditStore* audit_;
  OperatorIdentity who_;
  ActionContext context_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ACTION_RUNNER_H_
