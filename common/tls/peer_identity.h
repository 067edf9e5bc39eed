#ifndef OPSAGENT_COMMON_TLS_PEER_IDENTITY_H_
#define OPSAGENT_COMMON_TLS_PEER_IDENTITY_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/security/auth_context.h"

namespace opsagent {

// The verified caller of an RPC: the CN and OU values of the client
// certificate that the TLS handshake checked against the CA. Only operator
// certificates name callers: extended key usage clientAuth and not
// serverAuth, CN and OU values of plain printable text.
struct PeerIdentity {
  std::string name;                // certificate CN
  std::vector<std::string> roles;  // certificate OU values

  std::string ToString() const;
  // Whether its certificate names the controller's read-only "automation"
  // role, in any letter case (docs/SECURITY.md): agents refuse it every
  // change.
  bool IsAutomation() const;
};

inline constexpr char kAutomationRole[] = "automation";

// Reads callers' identities from the certificates their TLS handshakes
// verified, parsing each distinct certificate once: with OpenSSL 3 parsing a
// certificate costs as much as the rest of a small call, and a fleet has few
// operators. The mapping from certificate bytes to identity never changes, so
// remembering it cannot let anything through that the handshake refused.
// Thread-safe; remembers at most `capacity` certificates.
class PeerIdentityReader {
 public:
  explicit PeerIdentityReader(size_t capacity = 256) : capacity_(capacity) {}

  // Fails unless the peer was authenticated by a client certificate.
  absl::StatusOr<PeerIdentity> Read(const grpc::AuthContext& context);

  // The identity a verified PEM certificate names.
  absl::StatusOr<PeerIdentity> FromPem(absl::string_view pem);

 private:
  const size_t capacity_;
  absl::Mutex mutex_;
  std::unordered_map<std::string, PeerIdentity> known_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_PEER_IDENTITY_H_
