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
// CN is a host name cannot pass as that host.
absl::Status CheckHostCertificate(const CertificateInfo& cert,
                                  absl::string_view host);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_HOST_CERTIFICATE_H_
