#ifndef OPSAGENT_COMMON_TLS_HOST_CERTIFICATE_H_
#define OPSAGENT_COMMON_TLS_HOST_CERTIFICATE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/tls/certificate_info.h"

namespace opsagent {

// Checks that `cert` (already verified against the CA) is a host's
// certificate for `host`: extended key usage serverAuth, and a DNS
// subjectAltName equal to `host` or a wildcard ("*.example.org") covering
// exactly its first label. The CN is never used as a name (browsers stopped
// in 2017; gRPC still falls back to it), so an operator certificate whose
// CN is a host name cannot pass as that host. `host` must be a DNS host name
// (IsDnsHostName).
absl::Status CheckHostCertificate(const CertificateInfo& cert,
                                  absl::string_view host);

// True for a DNS host name: dot-separated labels of 1 to 63 letters, digits
// and hyphens, not starting or ending with a hyphen, 253 bytes at most.
// Nothing else may name a host (a wildcard certificate covers any first
// label, so the name itself must be checked).
bool IsDnsHostName(absl::string_view name);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_HOST_CERTIFICATE_H_
