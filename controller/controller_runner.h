#ifndef OPSAGENT_CONTROLLER_CONTROLLER_RUNNER_H_
#define OPSAGENT_CONTROLLER_CONTROLLER_RUNNER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/signing/signed_request.h"
#include "controller/auditing_caller.h"
#include "controller/controller_client.h"
#include "controller/fan_out.h"
#include "controller/invocation.h"
#include "google/protobuf/message.h"

namespace opsagent {

// Runs one operation through the team's controller: the controller selects
// the hosts from its live inventory, this signs one request for each with
// the operator's key (RequestSigner: the controller can relay them, not make
// or change them), and the controller relays them over the agents' links
// and keeps the audit log; this maps its stream onto what a direct run
// reports, so commands show the same either way. Hosts go in waves of at
// most the concurrency, each signed as it is sent, so that no request
// outlives its minute waiting in a queue; a wave waits for the one before
// it. A host whose result
// never came (the controller went away mid-run) is `unknown`: its intent is
// in the controller's log, and `opsctl audit --run` shows it once the
// controller is back. With several controllers (ControllerClient), a wave
// goes to the next only if it certainly reached none, or, for a read, was
// lost before the controller said it started (signed again); a change that
// may have been sent is unknown, never sent again.
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
  // The run's requests for hosts [first, end), signed now.
  absl::StatusOr<v1::RunRequest> Sign(const RequestSigner& signer,
                                      const std::string& target,
                                      const OperationCall& call,
                                      const std::vector<std::string>& hosts,
                                      size_t first, size_t end,
                                      int max_failures);
  // Sends one wave; its hosts are reported from index `first`. An error
  // means nothing of it started.
  absl::Status RunWave(
      const v1::RunRequest& request, const OperationCall& call, size_t first,
      const std::function<void(size_t, const google::protobuf::Message&)>&
          on_event,
      const std::function<void(size_t, AuditedResult&)>& on_result,
      FanOutSummary* summary, ControllerClient::RunAttempt* attempt);
  // Reports each host of a wave of changes lost on its way to `controller`
  // (`why`) as unknown, with how to find out what happened.
  void ReportCutOff(
      const v1::RunRequest& request, size_t first,
      const std::string& controller, const std::string& why,
      const std::function<void(size_t, AuditedResult&)>& on_result,
      FanOutSummary* summary);

  Invocation& invocation_;
  ControllerClient& client_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_CONTROLLER_RUNNER_H_
