#ifndef OPSAGENT_AGENT_SERVER_OPERATION_SERVICE_H_
#define OPSAGENT_AGENT_SERVER_OPERATION_SERVICE_H_

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "agent/server/call_gate.h"
#include "common/tls/peer_identity.h"
#include "grpcpp/generic/async_generic_service.h"

namespace opsagent {

// The agent's gRPC listener serves every RPC of the OpsAgent service, and
// grpc.health.v1 Check, through this one generic service: the method path
// names the operation (common/operation_catalog), the call gate runs it, and
// nothing here knows one operation from another. Each call runs on a thread
// of its own, at most `max_calls` at once; more are refused at once with
// RESOURCE_EXHAUSTED instead of queueing without bound. A unary failure
// carries its reply in the status details; a stream's events are sent as
// they come, its final event before the status. Shutdown waits for running
// calls.
class OperationService final : public grpc::CallbackGenericService {
 public:
  // With `journal_every_call`, read-only calls are journaled too (the
  // break-glass listener of an agent that has a controller).
  OperationService(CallGate* gate, int max_calls, bool journal_every_call);
  ~OperationService() override;

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

  // Called by each call's thread.
  bool TryStartCall();
  void EndCall();
  CallGate* gate() { return gate_; }
  bool journal_every_call() const { return journal_every_call_; }
  PeerIdentityReader& identities() { return identities_; }

 private:
  CallGate* const gate_;
  const int max_calls_;
  const bool journal_every_call_;
  PeerIdentityReader identities_;
  absl::Mutex mutex_;
  int running_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_OPERATION_SERVICE_H_
