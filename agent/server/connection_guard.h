#ifndef OPSAGENT_AGENT_SERVER_CONNECTION_GUARD_H_
#define OPSAGENT_AGENT_SERVER_CONNECTION_GUARD_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace opsagent {

// Bounds the TCP connections the agent's gRPC listener takes, and keeps the
// listener alive when descriptors run out.
//
// gRPC 1.51 accepts every connection it is offered, and when accept4 fails
// with EMFILE it logs "Failed accept4" and never accepts again: about 1,100
// idle connections under systemd's default limit silenced an agent for good.
// Debian's gRPC has no connection quota (that came in later releases), so
// the agent links with -Wl,--wrap=accept4 and every accept4 gRPC makes comes
// here. A connection beyond the limits (in total, or from one peer address)
// is accepted and reset at once; EMFILE or ENFILE is answered by closing a
// reserved descriptor, accepting and resetting the connection, and reopening
// the reserve. Either way the kernel's queue is drained until it is empty,
// and gRPC only ever sees success or EAGAIN, so its listener stays armed.
// Connections that never finish the TLS handshake are closed by gRPC at the
// handshake deadline (GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS); together that
// bounds what an unauthenticated peer can hold, in count and in time.
//
// Thread-safe. Before Configure is called, accept4 passes straight through.

struct ConnectionLimits {
  size_t max_connections = 256;
  size_t max_connections_per_peer = 32;
};

// Sets the limits and reserves the spare descriptor. Call before the server
// starts accepting.
void ConfigureConnectionGuard(const ConnectionLimits& limits);

struct ConnectionGuardStats {
  size_t open = 0;                  // accepted and still open
  uint64_t accepted = 0;            // since start
  uint64_t refused_over_limit = 0;  // reset: too many in total or from a peer
  uint64_t refused_no_descriptor = 0;  // reset: EMFILE/ENFILE
  // When a connection was last reset over the limits: the listener was
  // alive and accepting then, however busy. (Resets for want of a
  // descriptor do not count: then nobody can be served.)
  absl::Time last_refusal = absl::InfinitePast();
};
ConnectionGuardStats GetConnectionGuardStats();

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_CONNECTION_GUARD_H_
