#ifndef OPSAGENT_COMMON_TLS_CREDENTIALS_H_
#define OPSAGENT_COMMON_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace opsagent {

// PEM files of one side of a mutual-TLS connection.
struct TlsFiles {
  std::string certificate;  // may be empty on a client (tests only)
  std::string private_key;
  std::string ca_certificate;  // the peer must chain to this bundle
  int refresh_interval_seconds = 60;
  // Server only: hashed CRL files every client certificate is checked against.
  std::string crl_directory;
};

// Server credentials that require a client certificate chaining to the CA and
// re-read all three files when they change (no restart needed to rotate).
// Turns TLS session resumption off for the process, so that every connection
// is checked against the current certificates and CRLs.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// Client credentials that present the operator certificate and verify the
// agent's certificate against the CA, including its host name.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const TlsFiles& files);

// Checks that the files exist and hold a certificate, a key and a CA bundle,
// so that a misconfiguration is reported at start-up, not at the first call.
absl::Status CheckTlsFiles(const TlsFiles& files);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_CREDENTIALS_H_
