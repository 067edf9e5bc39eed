#ifndef OPSAGENT_COMMON_TLS_SESSION_RESUMPTION_H_
#define OPSAGENT_COMMON_TLS_SESSION_RESUMPTION_H_

#include "absl/status/status.h"

namespace opsagent {

// Turns TLS session resumption off for every TLS context this process
// creates, including the ones gRPC builds internally (gRPC 1.51 has no option
// for it): no TLS 1.3 session tickets, no TLS 1.2 tickets. A resumed session
// skips the client certificate, so a certificate revoked after the first
// connection would still get in for the ticket's lifetime (two hours by
// default). opsctl never resumes, so nothing is lost; not issuing tickets
// also saves the agent about a fifth of each handshake. Done through
// OpenSSL's own configuration ("system_default" of the ssl_conf module),
// which replaces any ssl_conf section of the system's openssl.cnf (Debian 12
// has none). Idempotent and thread-safe.
absl::Status DisableTlsSessionResumption();

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_SESSION_RESUMPTION_H_
