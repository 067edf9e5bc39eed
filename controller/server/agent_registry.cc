#include "controller/server/agent_registry.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// DNS names are equal whatever their letter case (RFC 4343): one key per
// host, so that "WEB-1" cannot stand beside, or displace unseen, "web-1".
std::string HostKey(absl::string_view host) {
  return absl::AsciiStrToLower(host);
}

// How often deadlines are checked.
constexpr absl::Duration kSweepInterval = absl::Milliseconds(100);

}  // namespace

AgentRegistry::AgentRegistry(int max_agents, absl::Duration heartbeat)
    : max_agents_(max_agents),
      heartbeat_(heartbeat),
      sweeper_([this] { Sweep(); }) {}

AgentRegistry::~AgentRegistry() {
  stop_.Notify();
  sweeper_.join();
}

absl::Status AgentRegistry::Add(std::shared_ptr<AgentConnection> connection) {
  std::shared_ptr<AgentConnection> replaced;
  {
    absl::MutexLock lock(&mutex_);
    const std::string host = HostKey(connection->info().host);
    auto it = links_.find(host);
    if (it == links_.end() && static_cast<int>(links_.size()) >= max_agents_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the controller holds its maximum of ", max_agents_, " agent links"));
    }
    if (it != links_.end()) replaced = std::move(it->second);
    links_[host] = std::move(connection);
    gone_.erase(host);
  }
  if (replaced != nullptr) {
    spdlog::info("{} linked again; closing its older link from {}",
                 replaced->info().host, replaced->info().address);
    replaced->Close("replaced by a newer link from the same host");
  }
  return absl::OkStatus();
}

void AgentRegistry::Remove(const AgentConnection* connection) {
  absl::MutexLock lock(&mutex_);
  const std::string host = HostKey(connection->info().host);
  auto it = links_.find(host);
  if (it == links_.end() || it->second.get() != connection) return;
  gone_[host] = Gone{connection->info(), connection->last_seen()};
  links_.erase(it);
}

std::shared_ptr<AgentConnection> AgentRegistry::Find(
    const std::string& host) const {
  absl::MutexLock lock(&mutex_);
  auto it = links_.find(HostKey(host));
  return it == links_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<AgentConnection>> AgentRegistry::All() const {
  absl::MutexLock lock(&mutex_);
  std::vector<std::shared_ptr<AgentConnection>> all;
  all.reserve(links_.size());
  for (const auto& [host, connection] : links_) all.push_back(connection);
  return all;
}

std::optional<AgentRegistry::Gone> AgentRegistry::FindGone(
    const std::string& host) const {
  absl::MutexLock lock(&mutex_);
  auto it = gone_.find(HostKey(host));
  if (it == gone_.end()) return std::nullopt;
  return it->second;
}

std::vector<AgentRegistry::Gone> AgentRegistry::AllGone() const {
  absl::MutexLock lock(&mutex_);
  std::vector<Gone> all;
  for (const auto& [host, gone] : gone_) all.push_back(gone);
  std::sort(all.begin(), all.end(), [](const Gone& a, const Gone& b) {
    return a.info.host < b.info.host;
  });
  return all;
}

size_t AgentRegistry::size() const {
  absl::MutexLock lock(&mutex_);
  return links_.size();
}

void AgentRegistry::Sweep() {
  absl::Time next_beat = absl::Now() + heartbeat_;
  while (!stop_.WaitForNotificationWithTimeout(kSweepInterval)) {
    const absl::Time now = absl::Now();
    const bool beat = now >= next_beat;
    if (beat) next_beat = now + heartbeat_;
    for (const std::shared_ptr<AgentConnection>& link : All()) {
      link->ExpireCalls(now);
      if (!beat) continue;
      if (const absl::Time expiry = link->certificate().not_after;
          now >= expiry) {
        spdlog::warn("the certificate of {} expired at {}; ending its link",
                     link->info().host, absl::FormatTime(expiry));
        link->Close("its certificate expired");
      } else if (now - link->last_seen() > 3 * heartbeat_) {
        spdlog::warn("{} sent nothing for {}; dropping its link",
                     link->info().host, absl::FormatDuration(3 * heartbeat_));
        link->Close("silent for three heartbeats");
      } else {
        link->SendHeartbeat();
      }
    }
  }
}

}  // namespace opsagent
