#include "controller/server/live_inventory.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"

namespace opsagent {

std::string ShownAddress(const std::string& peer) {
  for (absl::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (absl::StartsWith(peer, scheme)) return peer.substr(scheme.size());
  }
  return peer;
}

Inventory LiveInventory(const AgentRegistry& registry,
                        const Inventory& inventory) {
  v1::Inventory live;
  absl::flat_hash_set<std::string> listed;
  for (const v1::Host& host : inventory.hosts()) {
    *live.add_host() = host;
    listed.insert(host.name());
  }
  std::vector<std::shared_ptr<AgentConnection>> links = registry.All();
  std::sort(links.begin(), links.end(), [](const auto& a, const auto& b) {
    return a->info().host < b->info().host;
  });
  std::vector<AgentConnection::Info> known;
  for (const std::shared_ptr<AgentConnection>& link : links)
    known.push_back(link->info());
  // Hosts seen since the controller started but not connected now are
  // still targets: a fan-out reports them unreachable instead of quietly
  // skipping them.
  for (const AgentRegistry::Gone& gone : registry.AllGone())
    known.push_back(gone.info);
  for (const AgentConnection::Info& info : known) {
    if (!listed.insert(info.host).second) continue;
    v1::Host* host = live.add_host();
    host->set_name(info.host);
    host->set_address(ShownAddress(info.address));
    for (const std::string& role : info.roles) host->add_roles(role);
    host->set_environment(info.environment);
  }
  absl::StatusOr<Inventory> built = Inventory::FromProto(live, "live");
  return built.ok() ? *std::move(built) : inventory;
}

}  // namespace opsagent
