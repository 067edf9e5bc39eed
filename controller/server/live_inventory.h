#ifndef OPSAGENT_CONTROLLER_SERVER_LIVE_INVENTORY_H_
#define OPSAGENT_CONTROLLER_SERVER_LIVE_INVENTORY_H_

#include <string>

#include "controller/inventory.h"
#include "controller/server/agent_registry.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// The hosts a target may select: `inventory`'s, plus agents linked now or
// seen since the controller started that it does not list (with their
// roles and environment from their hellos).
Inventory LiveInventory(const AgentRegistry& registry,
                        const Inventory& inventory);

// The live inventory as ListHosts answers it: each host of `inventory`
// with its link's state (connected, last seen, agent version), then hosts
// linked now that it does not list, then hosts seen since start and gone.
v1::ListHostsReply ListHostStates(const AgentRegistry& registry,
                                  const Inventory& inventory);

// A peer's address as gRPC names it ("ipv4:10.0.0.5:40222"), shown without
// the scheme.
std::string ShownAddress(const std::string& peer);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_LIVE_INVENTORY_H_
