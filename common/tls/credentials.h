#ifndef OPSAGENT_COMMON_TLS_CREDENTIALS_H_
#define OPSAGENT_COMMON_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tls/tls_files.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace opsagent {

class ServerTrust;

// Server credentials that require a client certificate chaining to the CA,
// read `trust`'s staged copies of the files as they change (no restart to
// rotate) and check each client with `trust`'s verifier (revocation, host
// CAs that cannot make operators: ServerTrust::verifier). Turns
// TLS session resumption off for the process, so that every connection is
// checked against the current certificates and CRLs. `trust` must outlive
// the server.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTrust& trust);

// Client credentials that present the operator certificate and verify the
// peer's: it must chain to the CA and be a host certificate for the name the
// channel targets (CheckHostCertificate: serverAuth, a matching DNS SAN),
// and, when `required_role` is set, name that role (an OU): "controller" for
// opsctld, which no agent or operator certificate names.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const TlsFiles& files,
                       absl::string_view required_role = "");

// Checks that the files exist, are trusted (CheckTrustedPath: nobody else
// can change them) and hold a certificate, a key and a CA bundle, so that a
// misconfiguration is reported at start-up, not at the first call.
absl::Status CheckTlsFiles(const TlsFiles& files);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_CREDENTIALS_H_
