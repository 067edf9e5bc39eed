#ifndef OPSAGENT_CONTROLLER_SERVER_RELAY_RUN_H_
#define OPSAGENT_CONTROLLER_SERVER_RELAY_RUN_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "common/operation_catalog.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/write_budget.h"
#include "controller/inventory.h"
#include "controller/server/agent_registry.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// What RelayRun counts, for opsctld's /metrics: each host's call by
// operation and outcome and its duration, and audit commits that failed.
struct RelayMetrics {
  explicit RelayMetrics(MetricRegistry& registry);
  Counter& requests;
  Histogram& duration;
  Counter& audit_append_errors;
};

// What an operator asked the controller to run, with who they are from
// their verified certificate.
struct RelaySpec {
  const OperationInfo* op = nullptr;
  v1::RunRequest request;
  std::string operator_certificate;  // PEM, relayed to each agent
  std::string operator_identity;     // its CN
  absl::Duration timeout = absl::Seconds(30);
  int concurrency = 20;
  RelayMetrics* metrics = nullptr;  // not counted when null
  // Charged with the rows the run writes; none when null.
  WriteBudget* budget = nullptr;
};

// Runs one operation on the hosts `spec.request`'s signed requests are for
// (opsctl signs one for each host SelectHosts chose from the live inventory),
// relaying each unchanged over its host's link, at most `concurrency` hosts at
// once, without a thread per host. Every host's call is audited in the team's
// log: its intent is committed before it is sent and its outcome after it
// ends, both in group commits (one transaction for all that start or end
// together), and a host's result is reported only once it is on disk. A
// host not connected is `unreachable` and nothing is sent; one whose link
// drops or deadline passes mid-call is `unknown` if the operation changes
// the host, never `ok`. `emit` receives, on this thread, the selected
// hosts (once the first intents are on disk), each event and result, and
// the summary. Returns an error, with nothing emitted, only when nothing
// could be started (a malformed run; FAILED_PRECONDITION: the audit log
// cannot record the intents; RESOURCE_EXHAUSTED: the operator's write
// budget is spent). Exit codes follow what happened to each
// host: intent not recorded: `pending` (nothing sent); recorded but not
// sent (not connected, the link closed first): `unreachable`; the agent
// refused: `denied`; sent and cut off, or an outcome the log could not
// record: `unknown`.
absl::Status RelayRun(const RelaySpec& spec, AgentRegistry& registry,
                      const Inventory& inventory, AuditStore& audit,
                      const std::function<bool(const v1::RunEvent&)>& emit);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_RELAY_RUN_H_
