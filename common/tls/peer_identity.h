#ifndef OPSAGENT_COMMON_TLS_PEER_IDENTITY_H_
#define OPSAGENT_COMMON_TLS_PEER_IDENTITY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_context.h"

namespace opsagent {

// The verified caller of an RPC: the CN and OU values of the client
// certificate that the TLS handshake checked against the CA.
struct PeerIdentity {
  std::string name;                // certificate CN
  std::vector<std::string> roles;  // certificate OU values

  std::string ToString() const;
};

// Reads the identity from a call's auth context. Fails unless the peer was
// authenticated by a client certificate.
absl::StatusOr<PeerIdentity> PeerIdentityFromAuthContext(
    const grpc::AuthContext& context);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_PEER_IDENTITY_H_
