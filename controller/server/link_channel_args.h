// The gRPC transport settings of opsctld's listener, the one every agent
// holds its link on (operators' calls share it): what each held link costs
// in memory, and nothing that bounds what a link may carry.
#ifndef OPSAGENT_CONTROLLER_SERVER_LINK_CHANNEL_ARGS_H_
#define OPSAGENT_CONTROLLER_SERVER_LINK_CHANNEL_ARGS_H_

#include "grpcpp/server_builder.h"

namespace opsagent {

// Adds the per-connection settings to `builder` before BuildAndStart.
// Message size limits are the caller's (SetMaxReceiveMessageSize): relayed
// results are large and are not lowered here.
void AddLinkChannelArguments(grpc::ServerBuilder& builder);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_LINK_CHANNEL_ARGS_H_
