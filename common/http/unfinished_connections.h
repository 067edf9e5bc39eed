#ifndef OPSAGENT_COMMON_HTTP_UNFINISHED_CONNECTIONS_H_
#define OPSAGENT_COMMON_HTTP_UNFINISHED_CONNECTIONS_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace opsagent {

// The connections of an HTTP listener that have not yet finished their
// TLS handshake and sent their request line and headers, kept so that slow
// clients (a TCP connect and nothing more, or a ClientHello trickled a
// byte at a time) cannot hold the listener against others:
//  - each has `deadline` from accept to finish, however steadily it
//    trickles (an idle timeout is reset by every byte);
//  - at most `per_peer` unfinished ones from one address and `total` in
//    all: when a new one arrives over either, the oldest is cut, not the
//    new one. A slow client thus only ever pushes out its own older
//    connections (or, over `total`, the oldest anyone's), and a request
//    that finishes its headers promptly is never refused for them.
// Cutting is shutdown(2) of the socket, from any thread: the listener's
// event loop then reads the end of the stream and closes the connection.
// Connections that finished (Finished) no longer count. Thread-safe.
class UnfinishedConnections {
 public:
  struct Limits {
    absl::Duration deadline = absl::Seconds(3);
    size_t per_peer = 16;
    size_t total = 128;
  };
  // Starts the thread that enforces the deadline.
  explicit UnfinishedConnections(const Limits& limits);
  ~UnfinishedConnections();
  UnfinishedConnections(const UnfinishedConnections&) = delete;
  UnfinishedConnections& operator=(const UnfinishedConnections&) = delete;

  // A connection accepted from `peer` (its address, in any form that is
  // equal for equal addresses) on socket `fd`, which must stay open until
  // Finished is called for `connection`.
  void Accepted(const void* connection, int fd, std::string peer);
  // Its headers are in, or it closed: it is no longer watched.
  void Finished(const void* connection);

  // Connections cut so far (over a cap or past the deadline).
  uint64_t cut() const;

 private:
  struct Pending {
    const void* connection;
    int fd;
    std::string peer;
    absl::Time accepted;
    bool cut = false;
  };
  using Order = std::list<Pending>;

  void Cut(Order::iterator pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void EnforceDeadline();

  const Limits limits_;
  mutable absl::Mutex mutex_;
  // Oldest first.
  Order order_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<const void*, Order::iterator> by_connection_
      ABSL_GUARDED_BY(mutex_);
  // Not yet cut, by peer and in all.
  absl::flat_hash_map<std::string, size_t> live_by_peer_
      ABSL_GUARDED_BY(mutex_);
  size_t live_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t cut_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread deadline_thread_;
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_HTTP_UNFINISHED_CONNECTIONS_H_
