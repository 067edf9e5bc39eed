#include "common/http/unfinished_connections.h"

#include <sys/socket.h>

#include <utility>

#include "absl/time/clock.h"

namespace opsagent {
namespace {

// How often the deadline is checked: a connection lives at most this much
// past it.
constexpr absl::Duration kDeadlineTick = absl::Milliseconds(250);

}  // namespace

UnfinishedConnections::UnfinishedConnections(const Limits& limits)
    : limits_(limits) {
  deadline_thread_ = std::thread([this] { EnforceDeadline(); });
}

UnfinishedConnections::~UnfinishedConnections() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  deadline_thread_.join();
}

void UnfinishedConnections::Accepted(const void* connection, int fd,
                                     std::string peer) {
  absl::MutexLock lock(&mutex_);
  if (by_connection_.contains(connection)) return;
  size_t& from_peer = live_by_peer_[peer];
  ++from_peer;
  ++live_;
  by_connection_[connection] = order_.insert(
      order_.end(), Pending{connection, fd, std::move(peer), absl::Now()});
  // The new one is last: the oldest go first, the new one never.
  const std::string& key = order_.back().peer;
  for (auto it = order_.begin();
       it != std::prev(order_.end()) && live_by_peer_[key] > limits_.per_peer;
       ++it) {
    if (!it->cut && it->peer == key) Cut(it);
  }
  for (auto it = order_.begin();
       it != std::prev(order_.end()) && live_ > limits_.total; ++it) {
    if (!it->cut) Cut(it);
  }
}

void UnfinishedConnections::Finished(const void* connection) {
  absl::MutexLock lock(&mutex_);
  auto found = by_connection_.find(connection);
  if (found == by_connection_.end()) return;
  const Order::iterator pending = found->second;
  if (!pending->cut) {
    auto peer = live_by_peer_.find(pending->peer);
    if (--peer->second == 0) live_by_peer_.erase(peer);
    --live_;
  }
  order_.erase(pending);
  by_connection_.erase(found);
}

uint64_t UnfinishedConnections::cut() const {
  absl::MutexLock lock(&mutex_);
  return cut_;
}

void UnfinishedConnections::Cut(Order::iterator pending) {
  // The socket is still open: Finished (on close) has not been called.
  shutdown(pending->fd, SHUT_RDWR);
  pending->cut = true;
  auto peer = live_by_peer_.find(pending->peer);
  if (--peer->second == 0) live_by_peer_.erase(peer);
  --live_;
  ++cut_;
}

void UnfinishedConnections::EnforceDeadline() {
  absl::MutexLock lock(&mutex_);
  while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping_), kDeadlineTick)) {
    const absl::Time too_old = absl::Now() - limits_.deadline;
    for (auto it = order_.begin();
         it != order_.end() && it->accepted <= too_old; ++it) {
      if (!it->cut) Cut(it);
    }
  }
}

}  // namespace opsagent
