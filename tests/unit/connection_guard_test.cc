#include "common/connection_guard.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

TEST(ConnectionGuardTest, CountsGrpcPeersByAddress) {
  EXPECT_EQ(GuardedAddressOfGrpcPeer("ipv4:10.0.0.5:41234"), "10.0.0.5");
  EXPECT_EQ(GuardedAddressOfGrpcPeer("ipv6:[::ffff:10.0.0.5]:41234"),
            "10.0.0.5");
  // One host is commonly given a whole /64: it counts as one address.
  EXPECT_EQ(GuardedAddressOfGrpcPeer("ipv6:[2001:db8:1:2:aaaa::5]:41234"),
            "2001:db8:1:2::/64");
  EXPECT_EQ(GuardedAddressOfGrpcPeer("ipv6:%5B2001:db8:1:2::7%5D:41234"),
            "2001:db8:1:2::/64");
  EXPECT_EQ(GuardedAddressOfGrpcPeer("ipv6:[fe80::1%eth0]:41234"), "fe80::/64");
  EXPECT_EQ(GuardedAddressOfGrpcPeer("unix:/run/opsctld.sock"), "local");
  for (const char* bad :
       {"", "ipv4:", "ipv4:10.0.0.5", "ipv4:10.0.0.256:1", "ipv6:::1:5",
        "ipv6:[::1", "ipv6:[zz]:1", "dns:host:1", "10.0.0.5:1"}) {
    EXPECT_EQ(GuardedAddressOfGrpcPeer(bad), "") << bad;
  }
}

// The guard wraps accept4 for this test binary too: real loopback
// connections from distinct source addresses (127.0.1.N) go through it.
class GuardedListener {
 public:
  GuardedListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(fd_, 128);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~GuardedListener() {
    for (int fd : clients_) close(fd);
    for (int fd : accepted_) close(fd);
    close(fd_);
  }

  // A client connection from `source`, completed by the kernel.
  int Connect(const char* source) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from = {};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    sockaddr_in to = {};
    to.sin_family = AF_INET;
    to.sin_port = htons(port_);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)), 0);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    clients_.push_back(fd);
    return fd;
  }

  // Accepts what the guard lets through, as gRPC would; the rest it resets.
  int AcceptAll() {
    int accepted = 0;
    for (;;) {
      const int fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        EXPECT_EQ(errno, EAGAIN);
        return accepted;
      }
      accepted_.push_back(fd);
      ++accepted;
    }
  }

  // Closes the connections accepted so far, as gRPC does when they end.
  void CloseAccepted() {
    for (int fd : accepted_) close(fd);
    accepted_.clear();
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> clients_;
  std::vector<int> accepted_;
};

bool WasReset(int client) {
  char byte;
  return recv(client, &byte, 1, MSG_DONTWAIT) < 0 && errno == ECONNRESET;
}

TEST(ConnectionGuardTest, StrangersGetTheirShareAndVouchedAddressesTheRest) {
  GuardedListener listener;
  ConnectionLimits limits;
  limits.max_connections = 10;
  limits.max_connections_per_peer = 2;
  limits.max_unvouched_connections = 3;
  ConfigureConnectionGuard(limits);

  // One stranger: two connections held, the third reset at once.
  listener.Connect("127.0.1.1");
  listener.Connect("127.0.1.1");
  const int third = listener.Connect("127.0.1.1");
  EXPECT_EQ(listener.AcceptAll(), 2);
  EXPECT_TRUE(WasReset(third));
  EXPECT_EQ(GetConnectionGuardStats().open_unvouched, 2u);

  // Vouched for (it showed a trusted certificate): its open connections
  // leave strangers' pool, and it is bounded by the total alone.
  VouchForPeer("ipv4:127.0.1.1:40000");
  EXPECT_EQ(GetConnectionGuardStats().open_unvouched, 0u);
  listener.Connect("127.0.1.1");
  listener.Connect("127.0.1.1");
  EXPECT_EQ(listener.AcceptAll(), 2);

  // Strangers from four addresses share a pool of three.
  for (const char* source : {"127.0.1.2", "127.0.1.3", "127.0.1.4"})
    listener.Connect(source);
  const int fourth_stranger = listener.Connect("127.0.1.5");
  EXPECT_EQ(listener.AcceptAll(), 3);
  EXPECT_TRUE(WasReset(fourth_stranger));

  // The total holds for the vouched address too: 7 open, 3 more fit.
  for (int i = 0; i < 3; ++i) listener.Connect("127.0.1.1");
  const int over_total = listener.Connect("127.0.1.1");
  EXPECT_EQ(listener.AcceptAll(), 3);
  EXPECT_TRUE(WasReset(over_total));
  const ConnectionGuardStats full = GetConnectionGuardStats();
  EXPECT_EQ(full.open, 10u);
  EXPECT_EQ(full.open_unvouched, 3u);
  EXPECT_EQ(full.refused_over_limit, 3u);

  // Closed connections are forgotten: strangers get in again.
  listener.CloseAccepted();
  absl::SleepFor(absl::Milliseconds(50));
  listener.Connect("127.0.1.6");
  listener.Connect("127.0.1.6");
  EXPECT_EQ(listener.AcceptAll(), 2);
  EXPECT_EQ(GetConnectionGuardStats().open, 2u);
}

// Networks the controller is configured to vouch for are vouched for from
// the start, before anyone from them has shown a certificate; an address
// just outside gets a stranger's share.
TEST(ConnectionGuardTest, ConfiguredNetworksAreVouchedForFromTheStart) {
  GuardedListener listener;
  ConnectionLimits limits;
  limits.max_connections = 10;
  limits.max_connections_per_peer = 1;
  limits.max_unvouched_connections = 1;
  limits.vouched_networks = {*AddressRange::Parse("127.0.2.0/25")};
  ConfigureConnectionGuard(limits);
  const ConnectionGuardStats before = GetConnectionGuardStats();
  ASSERT_EQ(before.open, 0u);

  for (int i = 0; i < 4; ++i) listener.Connect("127.0.2.1");
  listener.Connect("127.0.2.127");
  EXPECT_EQ(listener.AcceptAll(), 5);
  EXPECT_EQ(GetConnectionGuardStats().open_unvouched, 0u);

  listener.Connect("127.0.2.128");  // in the /24, not in the /25
  const int second = listener.Connect("127.0.2.128");
  EXPECT_EQ(listener.AcceptAll(), 1);
  EXPECT_TRUE(WasReset(second));

  // The total holds inside the network too: 6 open, 4 more fit.
  for (int i = 0; i < 4; ++i) listener.Connect("127.0.2.2");
  const int over_total = listener.Connect("127.0.2.2");
  EXPECT_EQ(listener.AcceptAll(), 4);
  EXPECT_TRUE(WasReset(over_total));
  EXPECT_EQ(
      GetConnectionGuardStats().refused_over_limit - before.refused_over_limit,
      2u);
}

}  // namespace
}  // namespace opsagent
