#ifndef OPSAGENT_TESTS_TESTING_CONNECTION_FLOOD_H_
#define OPSAGENT_TESTS_TESTING_CONNECTION_FLOOD_H_

#include <vector>

namespace opsagent::testing {

// Many TCP connections to a port on 127.0.0.1, held open the way an
// unauthenticated peer would: idle (connected, nothing sent) or half-open
// TLS (a record header and the start of a ClientHello, then silence). They
// come from several loopback source addresses (127.0.N.M), so that limits
// per peer and in total can be told apart. Closed when destroyed.
class ConnectionFlood {
 public:
  enum class Kind { kIdle, kPartialHandshake };

  // Raises this process's descriptor limit as needed.
  ConnectionFlood(int port, int sources, int per_source, Kind kind);
  ~ConnectionFlood();
  ConnectionFlood(const ConnectionFlood&) = delete;
  ConnectionFlood& operator=(const ConnectionFlood&) = delete;

  // Connections the kernel completed (the server may reset them later).
  int opened() const { return static_cast<int>(sockets_.size()); }
  // Of those, how many the server has closed or reset by now.
  int ClosedByServer() const;
  // Closes them all (the flood ends).
  void End();

 private:
  std::vector<int> sockets_;
};

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_CONNECTION_FLOOD_H_
