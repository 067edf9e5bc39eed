#include "common/connection_guard.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

extern "C" int __real_accept4(int fd, struct sockaddr* address,
                              socklen_t* length, int flags);

namespace opsagent {
namespace {

constexpr absl::Duration kReportEvery = absl::Seconds(10);
// While connections are being refused, how often the table of open ones is
// checked for those gRPC has closed: each check costs an fstat per open
// connection, and a flood must not make every accept that expensive.
constexpr absl::Duration kPruneEvery = absl::Milliseconds(20);
// Addresses vouched for at once; beyond it, new ones are not remembered.
constexpr size_t kMaxVouchedAddresses = 65536;

struct Tracked {
  ino_t inode;
  std::string peer;
  bool vouched;
};

struct Guard {
  absl::Mutex mutex;
  bool configured ABSL_GUARDED_BY(mutex) = false;
  ConnectionLimits limits ABSL_GUARDED_BY(mutex);
  int reserve_fd ABSL_GUARDED_BY(mutex) = -1;
  absl::flat_hash_map<int, Tracked> open ABSL_GUARDED_BY(mutex);
  absl::flat_hash_map<std::string, size_t> per_peer ABSL_GUARDED_BY(mutex);
  size_t open_unvouched ABSL_GUARDED_BY(mutex) = 0;
  absl::flat_hash_map<std::string, absl::Time> vouched_until
      ABSL_GUARDED_BY(mutex);
  absl::Time last_prune ABSL_GUARDED_BY(mutex) = absl::InfinitePast();
  ConnectionGuardStats stats ABSL_GUARDED_BY(mutex);
  uint64_t refused_since_report ABSL_GUARDED_BY(mutex) = 0;
  absl::Time last_report ABSL_GUARDED_BY(mutex) = absl::InfinitePast();
};

Guard& TheGuard() {
  static Guard* guard = new Guard();
  return *guard;
}

std::string AddressText(int family, const void* address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (inet_ntop(family, address, text, sizeof(text)) == nullptr) return "";
  return text;
}

// IPv4 (mapped or not) as itself; other IPv6 by its /64, which one host is
// commonly given whole.
std::string GuardedAddress(const in6_addr& v6) {
  if (IN6_IS_ADDR_V4MAPPED(&v6)) return AddressText(AF_INET, &v6.s6_addr[12]);
  in6_addr prefix = v6;
  std::memset(&prefix.s6_addr[8], 0, 8);
  const std::string text = AddressText(AF_INET6, &prefix);
  return text.empty() ? "" : text + "/64";
}

// Who is at the other end of an accepted connection, as the limits see it.
struct Peer {
  std::string address;  // as GuardedAddress counts it; "?" when unknown
  bool in_vouched_network = false;
};

Peer PeerOf(int fd, const std::vector<AddressRange>& vouched_networks) {
  sockaddr_storage address = {};
  socklen_t length = sizeof(address);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return {"?"};
  Peer peer;
  if (address.ss_family == AF_INET) {
    peer.address = AddressText(
        AF_INET, &reinterpret_cast<sockaddr_in*>(&address)->sin_addr);
  } else if (address.ss_family == AF_INET6) {
    peer.address =
        GuardedAddress(reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr);
  } else {
    return {"local"};
  }
  for (const AddressRange& network : vouched_networks) {
    if (network.Contains(reinterpret_cast<sockaddr*>(&address))) {
      peer.in_vouched_network = true;
      break;
    }
  }
  return peer;
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

bool IsVouched(Guard& guard, const std::string& peer, absl::Time now)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(guard.mutex) {
  auto it = guard.vouched_until.find(peer);
  return it != guard.vouched_until.end() && it->second > now;
}

void Forget(Guard& guard, absl::flat_hash_map<int, Tracked>::iterator it)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(guard.mutex) {
  auto peer = guard.per_peer.find(it->second.peer);
  if (peer != guard.per_peer.end() && --peer->second == 0)
    guard.per_peer.erase(peer);
  if (!it->second.vouched) --guard.open_unvouched;
  guard.open.erase(it);
}

// Forgets connections gRPC has closed: their descriptor is gone or now
// names another file.
void Prune(Guard& guard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(guard.mutex) {
  for (auto it = guard.open.begin(); it != guard.open.end();) {
    auto next = std::next(it);
    if (InodeOf(it->first) != it->second.inode) Forget(guard, it);
    it = next;
  }
}

// Why a new connection from `peer` is over the limits, or "" if it is not.
absl::string_view OverLimits(Guard& guard, const std::string& peer,
                             bool vouched)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(guard.mutex) {
  const ConnectionLimits& limits = guard.limits;
  if (guard.open.size() >= limits.max_connections)
    return "too many connections";
  if (vouched) return "";
  auto from_peer = guard.per_peer.find(peer);
  if (from_peer != guard.per_peer.end() &&
      from_peer->second >= limits.max_connections_per_peer)
    return "too many connections from one address";
  if (limits.max_unvouched_connections > 0 &&
      guard.open_unvouched >= limits.max_unvouched_connections)
    return "too many connections from addresses not vouched for";
  return "";
}

void NoteRefusal(Guard& guard, absl::string_view why, const std::string& peer)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(guard.mutex) {
  ++guard.refused_since_report;
  const absl::Time now = absl::Now();
  if (now - guard.last_report < kReportEvery) return;
  spdlog::warn(
      "connection guard: refused {} connection(s) in the last {} s ({}; last "
      "from {}); {} open ({} from addresses not vouched for), limits {} in "
      "total and {} per address",
      guard.refused_since_report, absl::ToInt64Seconds(kReportEvery),
      std::string(why), peer, guard.open.size(), guard.open_unvouched,
      guard.limits.max_connections, guard.limits.max_connections_per_peer);
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
  stats.open_unvouched = guard.open_unvouched;
  return stats;
}

std::string GuardedAddressOfGrpcPeer(absl::string_view grpc_peer) {
  if (absl::ConsumePrefix(&grpc_peer, "unix:")) return "local";
  if (absl::ConsumePrefix(&grpc_peer, "ipv4:")) {
    const size_t colon = grpc_peer.rfind(':');
    if (colon == absl::string_view::npos) return "";
    in_addr v4;
    const std::string host(grpc_peer.substr(0, colon));
    if (inet_pton(AF_INET, host.c_str(), &v4) != 1) return "";
    return AddressText(AF_INET, &v4);
  }
  if (!absl::ConsumePrefix(&grpc_peer, "ipv6:")) return "";
  // "[addr]:port", brackets percent-encoded by some gRPC releases.
  std::string rest = absl::StrReplaceAll(
      grpc_peer, {{"%5B", "["}, {"%5b", "["}, {"%5D", "]"}, {"%5d", "]"}});
  const size_t close = rest.find(']');
  if (rest.empty() || rest[0] != '[' || close == std::string::npos) return "";
  std::string host = rest.substr(1, close - 1);
  host = host.substr(0, host.find('%'));  // a zone ("fe80::1%eth0")
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return "";
  return GuardedAddress(v6);
}

void VouchForPeer(absl::string_view grpc_peer) {
  const std::string peer = GuardedAddressOfGrpcPeer(grpc_peer);
  if (peer.empty()) return;
  Guard& guard = TheGuard();
  absl::MutexLock lock(&guard.mutex);
  const absl::Time now = absl::Now();
  const absl::Time until = now + guard.limits.vouched_for;
  auto [it, inserted] = guard.vouched_until.try_emplace(peer, until);
  if (!inserted) {
    const bool held = it->second > now;
    it->second = std::max(it->second, until);
    if (held) return;
  } else if (guard.vouched_until.size() > kMaxVouchedAddresses) {
    absl::erase_if(guard.vouched_until,
                   [now](const auto& entry) { return entry.second <= now; });
    if (guard.vouched_until.size() > kMaxVouchedAddresses) {
      guard.vouched_until.erase(peer);
      spdlog::warn(
          "connection guard: {} addresses vouched for already; {} "
          "is not remembered",
          kMaxVouchedAddresses, peer);
      return;
    }
  }
  // Newly vouched for: its open connections leave the unvouched pool.
  for (auto& [fd, tracked] : guard.open) {
    if (tracked.peer != peer || tracked.vouched) continue;
    tracked.vouched = true;
    --guard.open_unvouched;
  }
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
    // A descriptor handed out again was closed since it was tracked.
    if (auto stale = guard.open.find(fd); stale != guard.open.end())
      opsagent::Forget(guard, stale);
    const absl::Time now = absl::Now();
    const opsagent::Peer from =
        opsagent::PeerOf(fd, guard.limits.vouched_networks);
    const std::string& peer = from.address;
    const bool vouched =
        from.in_vouched_network || opsagent::IsVouched(guard, peer, now);
    absl::string_view over = opsagent::OverLimits(guard, peer, vouched);
    if (!over.empty() && now - guard.last_prune >= opsagent::kPruneEvery) {
      opsagent::Prune(guard);
      guard.last_prune = now;
      over = opsagent::OverLimits(guard, peer, vouched);
    }
    if (!over.empty()) {
      opsagent::Reset(fd);
      ++guard.stats.refused_over_limit;
      guard.stats.last_refusal = now;
      opsagent::NoteRefusal(guard, over, peer);
      continue;
    }
    guard.open[fd] = {opsagent::InodeOf(fd), peer, vouched};
    ++guard.per_peer[peer];
    if (!vouched) ++guard.open_unvouched;
    ++guard.stats.accepted;
    return fd;
  }
}
