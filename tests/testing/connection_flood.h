#ifndef OPSAGENT_TESTS_TESTING_CONNECTION_FLOOD_H_
#define OPSAGENT_TESTS_TESTING_CONNECTION_FLOOD_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace opsagent::testing {

// Many TCP connections to a port on 127.0.0.1, held open the way an
// unauthenticated peer would: idle (connected, nothing sent) or half-open
// TLS (a record header and the start of a ClientHello, then silence). They
// come from several loopback source addresses (127.0.N.M), so that limits
// per peer and in total can be told apart. Closed when destroyed.
class ConnectionFlood {
 public:
  enum class Kind { kIdle, kPartialHandshake };

  // Raises this process's descriptor limit as needed. `first_source`
  // (host order) is the first source address: 127.0.0.1 floods from the
  // address opsctl on this host connects from (a neighbour sharing it).
  static constexpr uint32_t kFirstFloodSource = (127u << 24) | (1u << 8) | 1;
  ConnectionFlood(int port, int sources, int per_source, Kind kind,
                  uint32_t first_source = kFirstFloodSource);
  ~ConnectionFlood();
  ConnectionFlood(const ConnectionFlood&) = delete;
  ConnectionFlood& operator=(const ConnectionFlood&) = delete;

  // Connections the kernel completed (the server may reset them later).
  // One the server accepted and reset before connect() returned counts too:
  // connect() then fails with ECONNRESET.
  int opened() const {
    return static_cast<int>(sockets_.size()) + reset_while_connecting_;
  }
  // Why the others failed ("" when none did), e.g. "2 x connect: Connection
  // refused".
  std::string failures() const;
  // Of those, how many the server has closed or reset by now.
  int ClosedByServer() const;
  // Of those, how many the server has reset (RST: a connection guard's
  // refusal) by now; a close at a handshake deadline (FIN) is not counted.
  int ResetByServer() const;
  // Closes them all (the flood ends).
  void End();

 private:
  // Whether the server closed or reset `fd` by now.
  bool Closed(int fd) const;

  std::vector<int> sockets_;
  int reset_while_connecting_ = 0;
  mutable absl::flat_hash_set<int> reset_;  // sockets seen reset
  std::map<std::string, int> failures_;     // by what failed and errno text
};

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_CONNECTION_FLOOD_H_
