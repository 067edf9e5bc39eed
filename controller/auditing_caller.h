#ifndef OPSAGENT_CONTROLLER_AUDITING_CALLER_H_
#define OPSAGENT_CONTROLLER_AUDITING_CALLER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/operation_catalog.h"
#include "controller/agent_client.h"
#include "controller/audit/audit_store.h"
#include "google/protobuf/message.h"
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

// What the operator said about this run of opsctl, shared by its calls.
struct RunContext {
  std::string reason;
  std::string incident;
  std::string run_id;
  std::string ticket;
  // Nothing may change (RequestMeta.read_only): a runbook's automatic step.
  bool read_only = false;
};

// One declared operation to send, with its request (whose meta the caller
// fills per host) and what this call needs beyond it.
struct OperationCall {
  const OperationInfo* op = nullptr;
  std::shared_ptr<const google::protobuf::Message> request;
  bool dry_run = false;
  // Operations that wait on the host (restarts) need longer than a call's
  // default deadline; an explicit --timeout still wins.
  absl::Duration minimum_timeout = absl::ZeroDuration();
};

// How an audited call went. `sent` is false when the intent could not be
// recorded, in which case nothing was sent. An outcome the log could not
// record is kUnknown, with what the agent answered in `status`.
struct AuditedResult {
  bool sent = false;
  v1::Outcome outcome = v1::OUTCOME_PENDING;
  absl::Status status;
  std::unique_ptr<google::protobuf::Message> final;  // may be set on failure
  std::string request_id;
  // Through the controller: the final message as the agent sent it, and
  // the agent's signature over it (common/signing/result_signature.h);
  // empty when no agent answered, and for direct calls.
  std::string signed_final_message;
  std::string agent_result_sha256;
  std::string agent_signature;
  // Through the controller: the address of the one that answered (or was
  // asked, for a result that never came); empty for direct calls.
  std::string controller;
};

// The audit outcome for a call that ended with `status`. A mutating call that
// may have reached the agent before failing is kUnknown, never kOk.
v1::Outcome ClassifyOutcome(const absl::Status& status, bool mutating);

// What a call whose outcome the audit log could not record (`why`) reports:
// what the agent answered (its code; DATA_LOSS for an answer that was
// ok) and that the log holds only the intent. Its outcome is kUnknown.
absl::Status UnrecordedOutcome(const absl::Status& answered,
                               const absl::Status& why);

// A random UUID (version 4) used as request id.
std::string NewRequestId();

// Makes calls with an audit intent written before sending and the outcome
// written after, so the audit log holds every action opsctl ever sent: the
// operation and whether it changes the host from its declaration, its
// parameters as the request's JSON, and its result (also a failure's) as
// the final message's JSON with a one-line summary. Safe to use from several
// threads at once (a fan-out).
class AuditingCaller {
 public:
  AuditingCaller(AuditStore* audit, OperatorIdentity who, RunContext context)
      : audit_(audit), who_(std::move(who)), context_(std::move(context)) {}

  // `send` gets the request with its meta filled in.
  AuditedResult Call(const v1::Host& host, const OperationCall& call,
                     const std::function<OperationResult(
                         const google::protobuf::Message& request)>& send);

  const OperatorIdentity& who() const { return who_; }

 private:
  AuditStore* audit_;
  OperatorIdentity who_;
  RunContext context_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDITING_CALLER_H_
