#ifndef OPSAGENT_COMMON_CONNECTION_GUARD_H_
#define OPSAGENT_COMMON_CONNECTION_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/address_range.h"

namespace opsagent {

// Bounds the TCP connections a daemon's gRPC listener takes (opsagent's and
// opsctld's), and keeps the listener alive when descriptors run out.
//
// gRPC 1.51 accepts every connection it is offered, and when accept4 fails
// with EMFILE it logs "Failed accept4" and never accepts again: about 1,100
// idle connections under systemd's default limit silenced an agent for good.
// Debian's gRPC has no connection quota (that came in later releases), so
// the daemons link with -Wl,--wrap=accept4 and every accept4 gRPC makes
// comes here. A connection beyond the limits (in total, from one address, or
// from addresses nobody has vouched for) is accepted and reset at once; EMFILE
// or ENFILE is answered by closing a reserved descriptor, accepting and
// resetting the connection, and reopening the reserve. Either way the kernel's
// queue is drained until it is empty, and gRPC only ever sees success or
// EAGAIN, so its listener stays armed. Connections that never finish the TLS
// handshake are closed by gRPC at the handshake deadline
// (GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS); together that bounds what an
// unauthenticated peer can hold, in count and in time.
//
// Thread-safe. Before Configure is called, accept4 passes straight through.

struct ConnectionLimits {
  size_t max_connections = 256;
  // From any one address not vouched for (an IPv6 /64 counts as one).
  size_t max_connections_per_peer = 32;
  // Of max_connections, how many may come from addresses not vouched for
  // at once; 0: no bound of its own. Keeps room for known peers when a flood
  // comes from many addresses.
  size_t max_unvouched_connections = 0;
  // How long VouchForPeer holds.
  absl::Duration vouched_for = absl::Hours(1);
  // Addresses vouched for always, from the start: the networks the fleet
  // and its operators connect from, so that they are served at once after a
  // restart under a flood, before any of them has shown a certificate again.
  std::vector<AddressRange> vouched_networks;
};

// Sets the limits and reserves the spare descriptor. Call before the server
// starts accepting.
void ConfigureConnectionGuard(const ConnectionLimits& limits);

struct ConnectionGuardStats {
  size_t open = 0;                  // accepted and still open
  uint64_t accepted = 0;            // since start
  size_t open_unvouched = 0;        // of those, from addresses not vouched for
  uint64_t refused_over_limit = 0;  // reset: too many in total or from a peer
  uint64_t refused_no_descriptor = 0;  // reset: EMFILE/ENFILE
  // When a connection was last reset over the limits: the listener was
  // alive and accepting then, however busy. (Resets for want of a
  // descriptor do not count: then nobody can be served.)
  absl::Time last_refusal = absl::InfinitePast();
};
ConnectionGuardStats GetConnectionGuardStats();

// Vouches for the address of a gRPC peer ("ipv4:10.0.0.5:41234",
// "ipv6:[2001:db8::5]:41234") that has just presented a certificate the
// server trusts: for `vouched_for` from now, connections from that address
// (its open ones too) are bounded by max_connections alone, not by the
// per-peer or unvouched limits. Many agents behind one NAT share an address;
// strangers do not get their room. Unknown peer forms are ignored.
void VouchForPeer(absl::string_view grpc_peer);

// The address the limits count connections by, for a gRPC peer string:
// IPv4 as dotted quad (IPv4-mapped IPv6 too), other IPv6 as its /64
// ("2001:db8:1:2::/64"), "local" for Unix sockets, "" when unparseable.
std::string GuardedAddressOfGrpcPeer(absl::string_view grpc_peer);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_CONNECTION_GUARD_H_
