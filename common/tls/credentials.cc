#include "common/tls/credentials.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/tls/certificate_info.h"
#include "common/tls/host_certificate.h"
#include "common/tls/server_trust.h"
#include "common/tls/session_resumption.h"
#include "common/trusted_path.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace opsagent {
namespace {

using grpc::experimental::FileWatcherCertificateProvider;

std::shared_ptr<FileWatcherCertificateProvider> MakeProvider(
    const TlsFiles& files) {
  if (files.certificate.empty()) {
    return std::make_shared<FileWatcherCertificateProvider>(
        files.ca_certificate, files.refresh_interval_seconds);
  }
  return std::make_shared<FileWatcherCertificateProvider>(
      files.private_key, files.certificate, files.ca_certificate,
      files.refresh_interval_seconds);
}

// Verifies, after gRPC's chain check, that the peer is the host the channel
// targets (the inventory name, set as the TLS target name).
class HostCertificateVerifier
    : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit HostCertificateVerifier(std::string required_role)
      : required_role_(std::move(required_role)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    const grpc::string_ref pem = request->peer_cert();
    const grpc::string_ref target = request->target_name();
    absl::StatusOr<CertificateInfo> cert =
        ParseCertificatePem(absl::string_view(pem.data(), pem.size()));
    absl::Status status =
        cert.ok() ? CheckHostCertificate(
                        *cert, absl::string_view(target.data(), target.size()))
                  : cert.status();
    if (status.ok() && !required_role_.empty() &&
        std::find(cert->organizational_units.begin(),
                  cert->organizational_units.end(),
                  required_role_) == cert->organizational_units.end()) {
      status = absl::UnauthenticatedError(absl::StrCat(
          "the certificate of ", cert->common_name,
          " does not name the role \"", required_role_,
          "\" (an OU): it is not a ", required_role_, " certificate"));
    }
    *sync_status = status.ok() ? grpc::Status::OK
                               : grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                              std::string(status.message()));
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {
  }

 private:
  const std::string required_role_;
};

absl::Status CheckPrivateKey(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read private key ", path,
                                            ": ", std::strerror(errno)));
  }
  EVP_PKEY* key = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no PEM private key found"));
  }
  EVP_PKEY_free(key);
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTlsFiles(const TlsFiles& files) {
  if (files.ca_certificate.empty()) {
    return absl::InvalidArgumentError("no CA certificate file is configured");
  }
  for (const auto& [path, kind] :
       {std::pair{&files.ca_certificate, TrustedKind::kFile},
        {&files.certificate, TrustedKind::kFile},
        {&files.private_key, TrustedKind::kSecretFile}}) {
    if (path->empty()) continue;
    if (absl::Status status = CheckTrustedPath(*path, kind); !status.ok())
      return status;
  }
  if (absl::StatusOr<CertificateInfo> ca =
          ReadCertificateFile(files.ca_certificate);
      !ca.ok()) {
    return ca.status();
  }
  if (files.certificate.empty() != files.private_key.empty()) {
    return absl::InvalidArgumentError(
        "a certificate needs its private key and vice versa");
  }
  if (files.certificate.empty()) return absl::OkStatus();
  if (absl::StatusOr<CertificateInfo> cert =
          ReadCertificateFile(files.certificate);
      !cert.ok()) {
    return cert.status();
  }
  return CheckPrivateKey(files.private_key);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTrust& trust) {
  if (absl::Status status = DisableTlsSessionResumption(); !status.ok()) {
    return status;
  }
  grpc::experimental::TlsServerCredentialsOptions options(
      MakeProvider(trust.staged()));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  // gRPC's handshake has verified the chain against the same staged CA
  // bundle; the verifier checks it again (~6 M instructions a handshake)
  // for what gRPC cannot: revocation with a CRL directory, and always the
  // rule that a host CA cannot issue operator certificates (ChainVerifier).
  options.set_certificate_verifier(trust.verifier());
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const TlsFiles& files, absl::string_view required_role) {
  if (absl::Status status = CheckTlsFiles(files); !status.ok()) return status;
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(MakeProvider(files));
  options.watch_root_certs();
  if (!files.certificate.empty()) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<
          HostCertificateVerifier>(std::string(required_role)));
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace opsagent
