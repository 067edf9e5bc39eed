#include "agent/server/connection_guard.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

extern "C" int __real_accept4(int fd, struct sockaddr* address,
                              socklen_t* length, int flags);

namespace opsagent {
namespace {

constexpr absl::Duration kReportEvery = absl::Seconds(10);

struct Tracked {
  ino_t inode;
  std::string peer;
};

struct Guard {
  absl::Mutex mutex;
  bool configured ABSL_GUARDED_BY(mutex) = false;
  ConnectionLimits limits ABSL_GUARDED_BY(mutex);
  int reserve_fd ABSL_GUARDED_BY(mutex) = -1;
  absl::flat_hash_map<int, Tracked> open ABSL_GUARDED_BY(mutex);
  absl::flat_hash_map<std::string, size_t> per_peer ABSL_GUARDED_BY(mutex);
  ConnectionGuardStats stats ABSL_GUARDED_BY(mutex);
  uint64_t refused_since_report ABSL_GUARDED_BY(mutex) = 0;
  absl::Time last_report ABSL_GUARDED_BY(mutex) = absl::InfinitePast();
};

Guard& TheGuard() {
  static Guard* guard = new Guard();
  return *guard;
}

// The peer's address without the port; IPv4-mapped IPv6 as IPv4.
std::string PeerAddress(int fd) {
  sockaddr_storage address = {};
  socklen_t length = sizeof(address);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return "?";
  char text[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address)->sin_addr,
              text, sizeof(text));
  } else if (address.ss_family == AF_INET6) {
    const in6_addr& v6 = reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      inet_ntop(AF_INET, &v6.s6_addr[12], text, sizeof(text));
    } else {
      inet_ntop(AF_INET6, &v6, text, sizeof(text));
    }
  } else {
    return "local";
  }
  return text;
}

ino_t InodeOf(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// Closes with a reset, so the socket is gone at once (no TIME_WAIT here).
void Reset(int fd) {
  linger abort = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  close(fd);
}

// Forgets connections gRPC has closed: their descriptor is gone or now
// names another file.
void Prune(Guard& guard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(guard.mutex) {
  for (auto it = guard.open.begin(); it != guard.open.end();) {
    if (InodeOf(it->first) == it->second.inode) {
      ++it;
      continue;
    }
    auto peer = guard.per_peer.find(it->second.peer);
    if (peer != guard.per_peer.end() && --peer->second == 0)
      guard.per_peer.erase(peer);
    guard.open.erase(it++);
  }
}

void NoteRefusal(Guard& guard, absl::string_view why, const std::string& peer)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(guard.mutex) {
  ++guard.refused_since_report;
  const absl::Time now = absl::Now();
  if (now - guard.last_report < kReportEvery) return;
  spdlog::warn(
      "connection guard: refused {} connection(s) in the last {} s ({}; last "
      "from {}); {} open, limits {} in total and {} per peer",
      guard.refused_since_report, absl::ToInt64Seconds(kReportEvery),
      std::string(why), peer, guard.open.size(), guard.limits.max_connections,
      guard.limits.max_connections_per_peer);
  guard.refused_since_report = 0;
  guard.last_report = now;
}

}  // namespace

void ConfigureConnectionGuard(const ConnectionLimits& limits) {
  Guard& guard = TheGuard();
  absl::MutexLock lock(&guard.mutex);
  guard.limits = limits;
  if (guard.reserve_fd < 0)
    guard.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  guard.configured = true;
}

ConnectionGuardStats GetConnectionGuardStats() {
  Guard& guard = TheGuard();
  absl::MutexLock lock(&guard.mutex);
  Prune(guard);
  ConnectionGuardStats stats = guard.stats;
  stats.open = guard.open.size();
  return stats;
}

}  // namespace opsagent

extern "C" int __wrap_accept4(int listener, struct sockaddr* address,
                              socklen_t* length, int flags) {
  using opsagent::Guard;
  Guard& guard = opsagent::TheGuard();
  for (;;) {
    const int fd = __real_accept4(listener, address, length, flags);
    const int error = errno;
    absl::MutexLock lock(&guard.mutex);
    if (!guard.configured) {
      errno = error;
      return fd;
    }
    if (fd < 0) {
      if ((error != EMFILE && error != ENFILE) || guard.reserve_fd < 0) {
        errno = error;
        return fd;  // EAGAIN, ECONNABORTED, ...: gRPC handles those
      }
      // Out of descriptors: make room for one, take the connection off the
      // queue and reset it, and keep draining.
      close(guard.reserve_fd);
      const int dropped =
          __real_accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (dropped >= 0) {
        opsagent::Reset(dropped);
        ++guard.stats.refused_no_descriptor;
        opsagent::NoteRefusal(guard, "no descriptor left", "?");
      }
      guard.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (dropped < 0) {
        errno = EAGAIN;  // the queue is empty or still unservable: wait
        return -1;
      }
      continue;
    }
    opsagent::Prune(guard);
    const std::string peer = opsagent::PeerAddress(fd);
    const size_t from_peer = guard.per_peer[peer];
    if (guard.open.size() >= guard.limits.max_connections ||
        from_peer >= guard.limits.max_connections_per_peer) {
      if (from_peer == 0) guard.per_peer.erase(peer);
      opsagent::Reset(fd);
      ++guard.stats.refused_over_limit;
      guard.stats.last_refusal = absl::Now();
      opsagent::NoteRefusal(guard,
                            guard.open.size() >= guard.limits.max_connections
                                ? "too many connections"
                                : "too many connections from one peer",
                            peer);
      continue;
    }
    guard.open[fd] = {opsagent::InodeOf(fd), peer};
    ++guard.per_peer[peer];
    ++guard.stats.accepted;
    return fd;
  }
}
