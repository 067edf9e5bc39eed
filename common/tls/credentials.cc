#include "common/tls/credentials.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/tls/certificate_info.h"
#include "common/tls/session_resumption.h"
#include "grpcpp/security/tls_certificate_provider.h"
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
    const TlsFiles& files) {
  if (files.certificate.empty()) {
    return absl::InvalidArgumentError(
        "the agent needs a certificate and private key");
  }
  if (absl::Status status = CheckTlsFiles(files); !status.ok()) return status;
  if (absl::Status status = DisableTlsSessionResumption(); !status.ok()) {
    return status;
  }
  grpc::experimental::TlsServerCredentialsOptions options(MakeProvider(files));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!files.crl_directory.empty())
    options.set_crl_directory(files.crl_directory);
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const TlsFiles& files) {
  if (absl::Status status = CheckTlsFiles(files); !status.ok()) return status;
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(MakeProvider(files));
  options.watch_root_certs();
  if (!files.certificate.empty()) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace opsagent
