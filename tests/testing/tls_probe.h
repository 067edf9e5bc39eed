#ifndef OPSAGENT_TESTS_TESTING_TLS_PROBE_H_
#define OPSAGENT_TESTS_TESTING_TLS_PROBE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace opsagent::testing {

// A plain OpenSSL client, outside gRPC, for what opsctl never does: keeping
// the session a server offers and offering it again later to resume without
// presenting the certificate (as an attacker holding a saved ticket would).
class TlsProbe {
 public:
  enum class Version { kTls12, kTls13 };

  // `certificate`/`private_key` are the client's PEM files; `ca` verifies
  // the server.
  static absl::StatusOr<std::unique_ptr<TlsProbe>> Create(
      const std::string& certificate, const std::string& private_key,
      const std::string& ca, Version version);
  ~TlsProbe();

  struct Handshake {
    // The server refused the connection (an alert during or, with TLS 1.3
    // client certificates, right after the handshake).
    bool refused = false;
    bool resumed = false;  // the server accepted the offered session
  };

  // Connects to 127.0.0.1:`port`, offering the session kept from the last
  // handshake if there is one, and waits briefly for what a TLS 1.3 server
  // sends after the handshake (tickets, or an alert refusing the client
  // certificate). Keeps the session for the next connection.
  absl::StatusOr<Handshake> Connect(int port);

 private:
  struct State;
  explicit TlsProbe(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_TLS_PROBE_H_
