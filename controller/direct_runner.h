#ifndef OPSAGENT_CONTROLLER_DIRECT_RUNNER_H_
#define OPSAGENT_CONTROLLER_DIRECT_RUNNER_H_

#include <functional>
#include <vector>

#include "controller/auditing_caller.h"
#include "controller/fan_out.h"
#include "controller/invocation.h"
#include "google/protobuf/message.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

// Runs one operation on hosts by talking to each agent directly and auditing
// into the operator's own log. Hosts are worked on concurrently
// (--concurrency, --max-failures). A change that could not be delivered is
// retried with the same request id: the agent answers a repeat with the
// first outcome instead of acting twice.
class DirectRunner {
 public:
  DirectRunner(Invocation& invocation, AuditingCaller& caller)
      : invocation_(invocation), caller_(caller) {}

  // `on_event` sees each event of a stream as it comes, `on_result` each
  // host's outcome as it ends (never two at once): by index into `hosts`.
  FanOutSummary Run(
      const std::vector<v1::Host>& hosts, const OperationCall& call,
      const std::function<void(size_t, const google::protobuf::Message&)>&
          on_event,
      const std::function<void(size_t, AuditedResult&)>& on_result);

 private:
  AuditedResult CallOne(
      const v1::Host& host, const OperationCall& call,
      const std::function<void(const google::protobuf::Message&)>& on_event);

  Invocation& invocation_;
  AuditingCaller& caller_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_DIRECT_RUNNER_H_
