#ifndef OPSAGENT_CONTROLLER_CONTROLLER_RUNNER_H_
#define OPSAGENT_CONTROLLER_CONTROLLER_RUNNER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/auditing_caller.h"
#include "controller/controller_client.h"
#include "controller/fan_out.h"
#include "controller/invocation.h"
#include "google/protobuf/message.h"

namespace opsagent {

// Runs one operation through the team's controller: the controller selects
// the hosts from its live inventory, relays the call over their agents'
// links and keeps the audit log; this maps its stream onto what a direct
// run reports, so commands show the same either way. A host whose result
// never came (the controller went away mid-run) is `unknown`: its intent is
// in the controller's log, and `opsctl audit --run` shows it once the
// controller is back.
class ControllerRunner {
 public:
  ControllerRunner(Invocation& invocation, ControllerClient& client)
      : invocation_(invocation), client_(client) {}

  // `on_hosts` gets the selected hosts' names before anything else;
  // `on_event` and `on_result` then each host's events and outcome, by
  // index. An error means nothing ran (no such hosts, controller
  // unreachable, audit log unusable).
  absl::StatusOr<FanOutSummary> Run(
      const std::string& target, const OperationCall& call,
      const std::function<void(const std::vector<std::string>&)>& on_hosts,
      const std::function<void(size_t, const google::protobuf::Message&)>&
          on_event,
      const std::function<void(size_t, AuditedResult&)>& on_result);

 private:
  Invocation& invocation_;
  ControllerClient& client_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_CONTROLLER_RUNNER_H_
