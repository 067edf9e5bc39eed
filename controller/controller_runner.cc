#include "controller/controller_runner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/audit/audit_schema.h"

namespace opsagent {
namespace {

// How long a run's stream may last past its calls' timeout: the controller
// commits the intents before the calls and the outcomes after, each commit
// waiting at most the audit log's busy timeout.
constexpr absl::Duration kRecordingGrace =
    absl::Milliseconds(2 * kAuditBusyTimeoutMs + 5000);

}  // namespace

absl::StatusOr<FanOutSummary> ControllerRunner::Run(
    const std::string& target, const OperationCall& call,
    const std::function<void(const std::vector<std::string>&)>& on_hosts,
    const std::function<void(size_t, const google::protobuf::Message&)>&
        on_event,
    const std::function<void(size_t, AuditedResult&)>& on_result) {
  absl::StatusOr<const v1::OperatorConfig*> config = invocation_.config();
  if (!config.ok()) return config.status();
  absl::StatusOr<std::unique_ptr<RequestSigner>> signer =
      RequestSigner::FromFiles((*config)->certificate(),
                               (*config)->private_key());
  if (!signer.ok()) return signer.status();
  v1::SelectHostsRequest request;
  request.set_target(target);
  absl::StatusOr<v1::SelectHostsReply> selected =
      invocation_.AskController(&ControllerStub::SelectHosts, request);
  if (!selected.ok()) return selected.status();
  const std::vector<std::string> hosts(selected->hosts().begin(),
                                       selected->hosts().end());
  invocation_.EnsureRunId();
  on_hosts(hosts);

  // Waves of at most as many hosts as the controller starts at once: each
  // wave's requests are signed as it is sent and all start at once, so
  // none waits out its lifetime in the controller's queue.
  size_t wave = std::max(1, invocation_.fan_out().concurrency);
  if (selected->max_concurrency() > 0)
    wave = std::min<size_t>(wave, selected->max_concurrency());
  const int max_failures = invocation_.fan_out().max_failures;
  FanOutSummary summary;
  for (size_t first = 0; first < hosts.size(); first += wave) {
    const size_t end = std::min(hosts.size(), first + wave);
    if (max_failures > 0 && summary.failed() >= max_failures) {
      summary.not_started += static_cast<int>(hosts.size() - first);
      break;
    }
    absl::Status sent;
    bool cut_off = false;
    for (;;) {
      absl::StatusOr<v1::RunRequest> request =
          Sign(**signer, target, call, hosts, first, end,
               max_failures > 0 ? max_failures - summary.failed() : 0);
      if (!request.ok()) return request.status();
      ControllerClient::RunAttempt attempt;
      sent = RunWave(*request, call, first, on_event, on_result, &summary,
                     &attempt);
      // Lost on its way, before the controller said it started: it may
      // have been recorded and relayed. A read is signed again (new request
      // ids: nothing on a host depends on them) and asked of the next
      // controller; a change never is, under any request id: it may be
      // running on the hosts, holding their locks, and a second controller
      // would record and relay it a second time. Its outcome is unknown.
      if (sent.ok() || !attempt.sent || attempt.lost.empty()) break;
      if (!call.op->mutating && client_.MoveOn(attempt.lost)) continue;
      if (call.op->mutating) {
        ReportCutOff(*request, first, client_.address(), attempt.lost,
                     on_result, &summary);
        sent = absl::OkStatus();
        cut_off = true;
      }
      break;
    }
    // The rest of a run of changes waits until the operator knows what
    // this wave did: not started.
    if (cut_off) {
      summary.not_started += static_cast<int>(hosts.size() - end);
      break;
    }
    if (sent.ok()) continue;
    // Nothing of the first wave ran: the run failed as a whole.
    if (first == 0) return sent;
    // FAILED_PRECONDITION: the controller's audit log could not record the
    // wave's intents (as opsctl's own would refuse); RESOURCE_EXHAUSTED: it
    // keeps its room for others (the operator's write budget, the reserve
    // for changes). Either way not sent, exit 5.
    const bool unrecorded =
        absl::IsFailedPrecondition(sent) || absl::IsResourceExhausted(sent);
    for (size_t i = first; i < hosts.size(); ++i) {
      AuditedResult lost;
      lost.sent = !unrecorded;
      lost.outcome = unrecorded ? v1::OUTCOME_PENDING : v1::OUTCOME_UNREACHABLE;
      lost.status = unrecorded
                        ? sent
                        : absl::UnavailableError(absl::StrCat(
                              "not sent: the controller refused the rest of "
                              "the run (",
                              sent.message(), ")"));
      summary.Add(lost.outcome);
      on_result(i, lost);
    }
    break;
  }
  return summary;
}

absl::StatusOr<v1::RunRequest> ControllerRunner::Sign(
    const RequestSigner& signer, const std::string& target,
    const OperationCall& call, const std::vector<std::string>& hosts,
    size_t first, size_t end, int max_failures) {
  const OperationInfo& op = *call.op;
  v1::RunRequest request;
  request.set_target(target);
  request.set_operation(op.name);
  request.set_concurrency(static_cast<uint32_t>(end - first));
  request.set_max_failures(static_cast<uint32_t>(max_failures));
  request.set_timeout_seconds(static_cast<uint32_t>(
      absl::ToInt64Seconds(invocation_.CallTimeout(call.minimum_timeout))));
  const OperatorIdentity who = invocation_.who();
  request.mutable_claims()->set_os_user(who.os_user);
  request.mutable_claims()->set_os_uid(who.os_uid);
  request.mutable_claims()->set_sudo_user(who.sudo_user);
  const absl::Time now = absl::Now();
  for (size_t i = first; i < end; ++i) {
    std::unique_ptr<google::protobuf::Message> message(call.request->New());
    message->CopyFrom(*call.request);
    v1::RequestMeta* meta = OperationInfo::MutableMeta(message.get());
    meta->set_request_id(NewRequestId());
    meta->set_reason(invocation_.context().reason);
    meta->set_incident(invocation_.context().incident);
    meta->set_ticket(invocation_.context().ticket);
    meta->set_run_id(invocation_.run_id());
    meta->set_dry_run(call.dry_run);
    meta->set_read_only(invocation_.context().read_only);
    v1::RequestEnvelope envelope;
    envelope.set_request_id(meta->request_id());
    envelope.set_operation(op.name);
    message->SerializeToString(envelope.mutable_request());
    envelope.set_target_host(hosts[i]);
    absl::StatusOr<v1::SignedRequest> signed_request =
        signer.Sign(std::move(envelope), now);
    if (!signed_request.ok()) return signed_request.status();
    *request.add_requests() = *std::move(signed_request);
  }
  return request;
}

void ControllerRunner::ReportCutOff(
    const v1::RunRequest& request, size_t first, const std::string& controller,
    const std::string& why,
    const std::function<void(size_t, AuditedResult&)>& on_result,
    FanOutSummary* summary) {
  for (int i = 0; i < request.requests_size(); ++i) {
    v1::RequestEnvelope envelope;
    envelope.ParseFromString(request.requests(i).envelope());
    AuditedResult lost;
    lost.sent = true;
    lost.outcome = v1::OUTCOME_UNKNOWN;
    lost.request_id = envelope.request_id();
    lost.controller = controller;
    lost.status = absl::UnavailableError(absl::StrCat(
        "outcome unknown: the controller ", controller,
        " went away before it said the run started (", why,
        "); the change may have been relayed, so it is not sent again "
        "through another controller. Find out with `opsctl audit reconcile "
        "--host ",
        envelope.target_host(), "` (request id ", envelope.request_id(),
        ") or `opsctl audit --run ", invocation_.run_id(),
        "` once a controller that keeps this log answers; run it again only "
        "once you know it did not run"));
    summary->Add(lost.outcome);
    on_result(first + static_cast<size_t>(i), lost);
  }
}

absl::Status ControllerRunner::RunWave(
    const v1::RunRequest& request, const OperationCall& call, size_t first,
    const std::function<void(size_t, const google::protobuf::Message&)>&
        on_event,
    const std::function<void(size_t, AuditedResult&)>& on_result,
    FanOutSummary* summary, ControllerClient::RunAttempt* attempt) {
  const OperationInfo& op = *call.op;
  const size_t count = static_cast<size_t>(request.requests_size());
  std::vector<bool> ended(count, false);
  bool started = false;
  size_t not_started = 0;
  // Each host's call ends by the request's timeout; the controller then
  // records its outcome (waiting at most its busy timeout for the log).
  const absl::Time deadline =
      absl::Now() + absl::Seconds(request.timeout_seconds()) + kRecordingGrace;
  absl::Status status = client_.Run(
      request, deadline,
      [&](const v1::RunEvent& event) {
        switch (event.kind_case()) {
          case v1::RunEvent::kStarted:
            started = true;
            break;
          case v1::RunEvent::kEvent: {
            if (event.event().host() >= count) break;
            std::unique_ptr<google::protobuf::Message> message = op.NewReply();
            if (message->ParseFromString(event.event().message()))
              on_event(first + event.event().host(), *message);
            break;
          }
          case v1::RunEvent::kResult: {
            const v1::HostResult& r = event.result();
            if (r.host() >= count || ended[r.host()]) break;
            ended[r.host()] = true;
            AuditedResult result;
            // A value this release does not know is no success.
            result.outcome = v1::Outcome_IsValid(r.outcome())
                                 ? r.outcome()
                                 : v1::OUTCOME_UNKNOWN;
            // "pending": the controller could not record it, so did not send
            // it.
            result.sent = result.outcome != v1::OUTCOME_PENDING;
            result.status =
                absl::Status(static_cast<absl::StatusCode>(r.status().code()),
                             r.status().message());
            result.request_id = r.request_id();
            result.controller = client_.address();
            result.signed_final_message = r.final_message();
            result.agent_result_sha256 = r.signature().result_sha256();
            result.agent_signature = r.signature().signature();
            if (!r.final_message().empty()) {
              std::unique_ptr<google::protobuf::Message> final = op.NewReply();
              if (final->ParseFromString(r.final_message())) {
                // A stream's final event reaches on_event too, as it does
                // directly.
                if (op.streaming) on_event(first + r.host(), *final);
                result.final = std::move(final);
              }
            }
            summary->Add(result.outcome);
            on_result(first + r.host(), result);
            break;
          }
          case v1::RunEvent::kFinished:
            // Only a run with an error budget leaves hosts not started.
            if (request.max_failures() > 0)
              not_started =
                  std::min<size_t>(event.finished().not_started(), count);
            break;
          default:
            break;
        }
      },
      attempt);
  if (!started) return status;
  // Every host the controller started has a result: one that did not come
  // back is unknown, never ok, whether the controller went away mid-run or
  // ended it without a word of that host. The controller starts hosts in
  // order and stops only once the run's error budget is spent: those it
  // says it did not start must be the last, without results, and follow a
  // failure. Anything else is unknown too.
  size_t expected = count;
  if (status.ok() && summary->failed() > 0) {
    expected = count - not_started;
    for (size_t i = expected; i < count; ++i) {
      if (ended[i]) expected = count;
    }
  }
  summary->not_started += static_cast<int>(count - expected);
  for (size_t i = 0; i < expected; ++i) {
    if (ended[i]) continue;
    AuditedResult lost;
    lost.sent = true;
    lost.outcome = v1::OUTCOME_UNKNOWN;
    lost.controller = client_.address();
    v1::RequestEnvelope envelope;
    envelope.ParseFromString(request.requests(static_cast<int>(i)).envelope());
    lost.request_id = envelope.request_id();
    const std::string find_out = absl::StrCat(
        "; whether it ran is in the host's journal: opsctl audit reconcile "
        "--host ",
        envelope.target_host());
    lost.status = absl::UnavailableError(
        status.ok()
            ? absl::StrCat("the controller ended the run without this host's "
                           "result",
                           find_out)
            : absl::StrCat("the controller went away before this host's "
                           "result came back (",
                           status.message(),
                           "); its intent is in the team's audit log, and it "
                           "is not sent again through another controller",
                           find_out));
    summary->Add(lost.outcome);
    on_result(first + i, lost);
  }
  return absl::OkStatus();
}

}  // namespace opsagent
