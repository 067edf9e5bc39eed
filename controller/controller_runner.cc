#include "controller/controller_runner.h"

#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

void Count(AuditOutcome outcome, FanOutSummary* summary) {
  switch (outcome) {
    case AuditOutcome::kOk:
      ++summary->ok;
      break;
    case AuditOutcome::kDenied:
      ++summary->denied;
      break;
    case AuditOutcome::kUnreachable:
      ++summary->unreachable;
      break;
    case AuditOutcome::kError:
      ++summary->error;
      break;
    case AuditOutcome::kPending:
      break;  // not sent: counted by the caller as an audit failure
    case AuditOutcome::kUnknown:
      ++summary->unknown;
      break;
  }
}

}  // namespace

absl::StatusOr<FanOutSummary> ControllerRunner::Run(
    const std::string& target, const OperationCall& call,
    const std::function<void(const std::vector<std::string>&)>& on_hosts,
    const std::function<void(size_t, const google::protobuf::Message&)>&
        on_event,
    const std::function<void(size_t, AuditedResult&)>& on_result) {
  const OperationInfo& op = *call.op;
  v1::RunRequest request;
  request.set_target(target);
  request.set_operation(op.name);
  request.set_request(call.request->SerializeAsString());
  request.set_reason(invocation_.context().reason);
  request.set_incident(invocation_.context().incident);
  request.set_run_id(invocation_.run_id());
  request.set_dry_run(call.dry_run);
  request.set_concurrency(invocation_.fan_out().concurrency);
  request.set_max_failures(invocation_.fan_out().max_failures);
  request.set_timeout_seconds(static_cast<uint32_t>(
      absl::ToInt64Seconds(invocation_.CallTimeout(call.minimum_timeout))));
  const OperatorIdentity who = invocation_.who();
  request.mutable_claims()->set_os_user(who.os_user);
  request.mutable_claims()->set_os_uid(who.os_uid);
  request.mutable_claims()->set_sudo_user(who.sudo_user);

  std::vector<std::string> hosts;
  std::vector<bool> ended;
  bool started = false;
  FanOutSummary summary;
  absl::Status status = client_.Run(request, [&](const v1::RunEvent& event) {
    switch (event.kind_case()) {
      case v1::RunEvent::kStarted:
        started = true;
        hosts.assign(event.started().hosts().begin(),
                     event.started().hosts().end());
        ended.assign(hosts.size(), false);
        invocation_.SetRunId(event.started().run_id());
        on_hosts(hosts);
        break;
      case v1::RunEvent::kEvent: {
        if (event.event().host() >= hosts.size()) break;
        std::unique_ptr<google::protobuf::Message> message = op.NewReply();
        if (message->ParseFromString(event.event().message()))
          on_event(event.event().host(), *message);
        break;
      }
      case v1::RunEvent::kResult: {
        const v1::HostResult& r = event.result();
        if (r.host() >= hosts.size() || ended[r.host()]) break;
        ended[r.host()] = true;
        AuditedResult result;
        std::optional<AuditOutcome> outcome = ParseAuditOutcome(r.outcome());
        result.outcome = outcome.value_or(AuditOutcome::kUnknown);
        // "pending": the controller could not record it, so did not send it.
        result.sent = result.outcome != AuditOutcome::kPending;
        result.status =
            absl::Status(static_cast<absl::StatusCode>(r.status().code()),
                         r.status().message());
        result.request_id = r.request_id();
        if (!r.final_message().empty()) {
          std::unique_ptr<google::protobuf::Message> final = op.NewReply();
          if (final->ParseFromString(r.final_message())) {
            // A stream's final event reaches on_event too, as it does
            // directly.
            if (op.streaming) on_event(r.host(), *final);
            result.final = std::move(final);
          }
        }
        Count(result.outcome, &summary);
        on_result(r.host(), result);
        break;
      }
      case v1::RunEvent::kFinished:
        summary.not_started = event.finished().not_started();
        break;
      default:
        break;
    }
  });
  if (!started) return status;
  if (!status.ok()) {
    // The controller went away mid-run: what did not come back is unknown.
    for (size_t i = 0; i < hosts.size(); ++i) {
      if (ended[i]) continue;
      AuditedResult lost;
      lost.sent = true;
      lost.outcome = AuditOutcome::kUnknown;
      lost.status = absl::UnavailableError(absl::StrCat(
          "the controller went away before this host's result came back (",
          status.message(), "); its intent is in the controller's audit log"));
      Count(lost.outcome, &summary);
      on_result(i, lost);
    }
  }
  return summary;
}

}  // namespace opsagent
