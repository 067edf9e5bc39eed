#include "controller/direct_runner.h"

#include <optional>

#include "absl/time/clock.h"

namespace opsagent {

AuditedResult DirectRunner::CallOne(
    const v1::Host& host, const OperationCall& call,
    const std::function<void(const google::protobuf::Message&)>& on_event) {
  absl::StatusOr<std::unique_ptr<AgentClient>> client =
      invocation_.Connect(host, call.minimum_timeout);
  if (!client.ok()) {
    AuditedResult result;
    result.status = client.status();
    return result;
  }
  return caller_.Call(
      host, call, [&](const google::protobuf::Message& request) {
        OperationResult result = (*client)->Call(*call.op, request, on_event);
        for (int retry = 0; call.op->mutating && retry < 2 &&
                            absl::IsUnavailable(result.status);
             ++retry) {
          absl::SleepFor(absl::Seconds(1));
          result = (*client)->Call(*call.op, request, on_event);
        }
        if (!result.status.ok()) {
          result.status = absl::Status(
              result.status.code(), invocation_.Explain(result.status, host));
        }
        return result;
      });
}

FanOutSummary DirectRunner::Run(
    const std::vector<v1::Host>& hosts, const OperationCall& call,
    const std::function<void(size_t, const google::protobuf::Message&)>&
        on_event,
    const std::function<void(size_t, AuditedResult&)>& on_result) {
  std::vector<std::optional<AuditedResult>> results(hosts.size());
  return RunFanOut(
      hosts.size(), invocation_.fan_out(),
      [&](size_t i) {
        results[i] = CallOne(hosts[i], call,
                             [&, i](const google::protobuf::Message& event) {
                               if (on_event) on_event(i, event);
                             });
        return results[i]->sent ? results[i]->outcome : v1::OUTCOME_PENDING;
      },
      [&](size_t i, v1::Outcome, const FanOutSummary&) {
        on_result(i, *results[i]);
      });
}

}  // namespace opsagent
