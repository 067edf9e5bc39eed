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

namespace {

void SetCertificateExpiry(const AgentConnection& link, v1::HostState* state) {
  const absl::Time expiry = link.certificate().not_after;
  if (expiry != absl::InfiniteFuture())
    state->set_certificate_not_after_unix_ms(absl::ToUnixMillis(expiry));
}

}  // namespace

v1::ListHostsReply ListHostStates(const AgentRegistry& registry,
                                  const Inventory& inventory) {
  v1::ListHostsReply reply;
  absl::flat_hash_set<std::string> listed;
  for (const v1::Host& host : inventory.hosts()) {
    v1::HostState* state = reply.add_hosts();
    state->set_name(host.name());
    state->set_address(host.address());
    *state->mutable_roles() = host.roles();
    state->set_environment(host.environment());
    state->set_in_inventory(true);
    listed.insert(host.name());
    if (std::shared_ptr<AgentConnection> link = registry.Find(host.name())) {
      const AgentConnection::Info& info = link->info();
      state->set_connected(true);
      state->set_address(info.address);
      state->set_agent_version(info.version);
      state->set_connected_since_unix_ms(
          absl::ToUnixMillis(info.connected_since));
      state->set_last_seen_unix_ms(absl::ToUnixMillis(link->last_seen()));
      SetCertificateExpiry(*link, state);
    } else if (std::optional<AgentRegistry::Gone> gone =
                   registry.FindGone(host.name())) {
      state->set_last_seen_unix_ms(absl::ToUnixMillis(gone->last_seen));
      state->set_agent_version(gone->info.version);
    }
  }
  std::vector<std::shared_ptr<AgentConnection>> links = registry.All();
  std::sort(links.begin(), links.end(), [](const auto& a, const auto& b) {
    return a->info().host < b->info().host;
  });
  for (const std::shared_ptr<AgentConnection>& link : links) {
    const AgentConnection::Info& info = link->info();
    if (listed.contains(info.host)) continue;
    v1::HostState* state = reply.add_hosts();
    state->set_name(info.host);
    state->set_address(info.address);
    for (const std::string& role : info.roles) state->add_roles(role);
    state->set_environment(info.environment);
    state->set_connected(true);
    state->set_agent_version(info.version);
    state->set_connected_since_unix_ms(
        absl::ToUnixMillis(info.connected_since));
    state->set_last_seen_unix_ms(absl::ToUnixMillis(link->last_seen()));
    SetCertificateExpiry(*link, state);
  }
  for (const AgentRegistry::Gone& gone : registry.AllGone()) {
    if (listed.contains(gone.info.host) || registry.Find(gone.info.host))
      continue;
    v1::HostState* state = reply.add_hosts();
    state->set_name(gone.info.host);
    state->set_address(gone.info.address);
    for (const std::string& role : gone.info.roles) state->add_roles(role);
    state->set_environment(gone.info.environment);
    state->set_agent_version(gone.info.version);
    state->set_last_seen_unix_ms(absl::ToUnixMillis(gone.last_seen));
  }
  return reply;
}

}  // namespace opsagent
