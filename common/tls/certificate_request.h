#ifndef OPSAGENT_COMMON_TLS_CERTIFICATE_REQUEST_H_
#define OPSAGENT_COMMON_TLS_CERTIFICATE_REQUEST_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// A host's fresh key and its certificate signing request: what an agent
// makes to enroll or renew. The key never leaves the host; the controller's
// host CA (controller/enroll/host_ca.h) uses only the request's public key
// and names the host itself.
struct KeyAndRequest {
  std::string private_key_pem;  // PKCS#8 PEM, EC P-256
  std::string request_pem;      // CSR: subject CN=host, SAN DNS:host, signed
                                // by the key (proof of possession)
};

// Makes a new EC P-256 key and a CSR for `host`. INVALID_ARGUMENT unless
// `host` is a DNS host name (IsDnsHostName). Thread-safe.
absl::StatusOr<KeyAndRequest> MakeHostKeyAndRequest(absl::string_view host);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_CERTIFICATE_REQUEST_H_
