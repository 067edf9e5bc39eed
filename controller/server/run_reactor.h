#ifndef OPSAGENT_CONTROLLER_SERVER_RUN_REACTOR_H_
#define OPSAGENT_CONTROLLER_SERVER_RUN_REACTOR_H_

#include "grpcpp/grpcpp.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

class ControllerService;

// Serves one Run for `service`: the caller must hold the permission Run
// declares; the operation is checked (the automation role relays no
// change, an incident named must be open), then the fan-out (RelayRun) runs
// on a thread of its own, detached from `service`, writing each event as
// gRPC takes it, one at a time. Deletes itself when the call is done.
grpc::ServerWriteReactor<v1::RunEvent>* StartRun(
    ControllerService* service, grpc::CallbackServerContext* context,
    const v1::RunRequest* request);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_RUN_REACTOR_H_
