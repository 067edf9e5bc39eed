#include "controller/auditing_caller.h"

#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "controller/result_summary.h"

namespace opsagent {

v1::Outcome ClassifyOutcome(const absl::Status& status, bool mutating) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return v1::OUTCOME_OK;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return v1::OUTCOME_DENIED;
    case absl::StatusCode::kUnavailable:
      // A read-only call that failed to connect did nothing; a mutating one
      // may have been cut off after the agent began acting.
      return mutating ? v1::OUTCOME_UNKNOWN : v1::OUTCOME_UNREACHABLE;
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kDataLoss:
      return mutating ? v1::OUTCOME_UNKNOWN : v1::OUTCOME_ERROR;
    default:
      return v1::OUTCOME_ERROR;
  }
}

absl::Status UnrecordedOutcome(const absl::Status& answered,
                               const absl::Status& why) {
  return absl::Status(
      answered.ok() ? absl::StatusCode::kDataLoss : answered.code(),
      absl::StrCat(answered.ok() ? "the agent answered ok"
                                 : absl::StrCat("the agent answered: ",
                                                answered.message()),
                   ", but the audit log could not record this outcome (",
                   why.message(), "): its row stays an intent"));
}

std::string NewRequestId() {
  unsigned char b[16];
  RAND_bytes(b, sizeof(b));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
      b[12], b[13], b[14], b[15]);
}

AuditedResult AuditingCaller::Call(
    const v1::Host& host, const OperationCall& call,
    const std::function<OperationResult(const google::protobuf::Message&)>&
        send) {
  const OperationInfo& op = *call.op;
  std::unique_ptr<google::protobuf::Message> request(call.request->New());
  request->CopyFrom(*call.request);
  v1::RequestMeta* meta = OperationInfo::MutableMeta(request.get());
  meta->set_request_id(NewRequestId());
  meta->set_reason(context_.reason);
  meta->set_incident(context_.incident);
  meta->set_ticket(context_.ticket);
  meta->set_run_id(context_.run_id);
  meta->set_dry_run(call.dry_run);
  meta->set_read_only(context_.read_only);

  v1::AuditIntent intent;
  intent.set_request_id(meta->request_id());
  intent.set_run_id(context_.run_id);
  intent.set_started_at_ms(absl::ToUnixMillis(absl::Now()));
  intent.set_os_user(who_.os_user);
  if (who_.os_uid >= 0) intent.set_os_uid(who_.os_uid);
  intent.set_sudo_user(who_.sudo_user);
  intent.set_cert_identity(who_.cert_identity);
  intent.set_host(host.name());
  intent.set_address(host.address());
  intent.set_operation(op.name);
  intent.set_parameters_json(ParametersJson(*request));
  intent.set_reason(context_.reason);
  intent.set_incident(context_.incident);
  intent.set_ticket(context_.ticket);
  intent.set_dry_run(call.dry_run);
  intent.set_mutating(op.mutating);
  AuditedResult audited;
  audited.request_id = meta->request_id();
  absl::StatusOr<int64_t> row = audit_->RecordIntent(intent);
  if (!row.ok()) {
    audited.status = absl::FailedPreconditionError(
        absl::StrCat("nothing was sent: the audit log cannot record it (",
                     row.status().message(), ")"));
    return audited;
  }
  audited.sent = true;
  OperationResult result = send(*request);
  audited.status = result.status;
  audited.outcome = ClassifyOutcome(result.status, op.mutating);
  audited.final = std::move(result.final);

  v1::AuditResult outcome;
  outcome.set_outcome(audited.outcome);
  outcome.set_finished_at_ms(absl::ToUnixMillis(absl::Now()));
  if (!audited.status.ok()) {
    outcome.set_error_code(absl::StatusCodeToString(audited.status.code()));
    outcome.set_message(std::string(audited.status.message()));
  }
  if (audited.final != nullptr) {
    outcome.set_summary(SummarizeResult(op, *audited.final));
    outcome.set_result_json(ProtoToJson(op.ResultOf(*audited.final)));
  }
  // Whatever the agent answered, a log that holds only the intent says
  // nothing of how it ended: the outcome is unknown (exit 6).
  if (absl::Status recorded = audit_->RecordResult(*row, outcome);
      !recorded.ok()) {
    audited.status = UnrecordedOutcome(audited.status, recorded);
    audited.outcome = v1::OUTCOME_UNKNOWN;
  }
  return audited;
}

}  // namespace opsagent
