#ifndef OPSAGENT_CONTROLLER_SERVER_RUN_REACTOR_H_
#define OPSAGENT_CONTROLLER_SERVER_RUN_REACTOR_H_

#include <functional>

#include "absl/status/statusor.h"
#include "common/tls/peer_identity.h"
#include "controller/alerts/incident_store.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/write_budget.h"
#include "controller/inventory.h"
#include "controller/server/agent_registry.h"
#include "controller/server/relay_run.h"
#include "grpcpp/grpcpp.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// What serving a Run takes from the service that accepted it; each pointer
// outlives the call.
struct RunServing {
  const v1::OpsctldConfig* config = nullptr;
  AgentRegistry* registry = nullptr;
  const Inventory* inventory = nullptr;
  AuditStore* audit = nullptr;
  RelayMetrics* metrics = nullptr;
  WriteBudget* budget = nullptr;
  IncidentStore* incidents = nullptr;
  // Runs work on a thread the service waits for when it stops.
  std::function<void(std::function<void()>)> detach;
};

// Serves one Run for `caller`, whose identity and permission (the one Run
// declares) the service checked; an error finishes the call at once. The
// operation is checked (the automation role relays no change, an incident
// named must be open), then the fan-out (RelayRun) runs on a detached
// thread, writing each event as gRPC takes it, one at a time. Deletes
// itself when the call is done.
grpc::ServerWriteReactor<v1::RunEvent>* StartRun(
    const RunServing& serving, absl::StatusOr<PeerIdentity> caller,
    grpc::CallbackServerContext* context, const v1::RunRequest* request);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_RUN_REACTOR_H_
