#include "agent/enroll/host_certificate_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/regular_file.h"
#include "common/replace_file.h"
#include "common/tls/certificate_info.h"
#include "common/tls/chain_verifier.h"
#include "common/tls/host_certificate.h"
#include "common/tls/pem_text.h"

namespace opsagent {
namespace {

constexpr size_t kMaxFileBytes = 64 << 10;
constexpr int kMaxEarlierCertificates = 64;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

// Whether `key_pem` is the private key of the first certificate of
// `certificate_pem`.
bool KeyMatches(absl::string_view certificate_pem, absl::string_view key_pem) {
  std::unique_ptr<BIO, BioFree> cert_bio(BIO_new_mem_buf(
      certificate_pem.data(), static_cast<int>(certificate_pem.size())));
  std::unique_ptr<BIO, BioFree> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  const bool matches =
      cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  return matches;
}

}  // namespace

std::optional<std::string> WhyEnrollmentIsNeeded(const v1::AgentConfig& config,
                                                 absl::Time now) {
  const v1::TlsConfig& tls = config.tls();
  absl::StatusOr<std::string> certificate =
      ReadRegularFile(tls.certificate(), kMaxFileBytes);
  if (!certificate.ok()) return std::string(certificate.status().message());
  absl::StatusOr<std::string> key =
      ReadSecretFile(tls.private_key(), kMaxFileBytes);
  if (!key.ok()) return std::string(key.status().message());
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(*certificate);
  if (!info.ok())
    return absl::StrCat(tls.certificate(), ": ", info.status().message());
  if (absl::Status named = CheckHostCertificate(*info, config.hostname());
      !named.ok())
    return absl::StrCat(tls.certificate(), ": ", named.message());
  if (info->not_after <= now)
    return absl::StrCat(tls.certificate(), " expired at ",
                        absl::FormatTime(info->not_after));
  if (!KeyMatches(*certificate, *key))
    return absl::StrCat(tls.private_key(), " is not the key of ",
                        tls.certificate());
  return std::nullopt;
}

absl::Status InstallHostCertificate(const v1::AgentConfig& config,
                                    absl::string_view key_pem,
                                    absl::string_view chain_pem) {
  const v1::TlsConfig& tls = config.tls();
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(chain_pem);
  if (!info.ok())
    return absl::InvalidArgumentError(absl::StrCat(
        "the controller sent no certificate: ", info.status().message()));
  if (absl::Status named = CheckHostCertificate(*info, config.hostname());
      !named.ok())
    return absl::PermissionDeniedError(absl::StrCat(
        "the controller sent a certificate that is not this host's: ",
        named.message()));
  if (!KeyMatches(chain_pem, key_pem))
    return absl::PermissionDeniedError(
        "the controller sent a certificate for another key than this host "
        "made");
  absl::StatusOr<std::string> bundle =
      ReadRegularFile(tls.ca_certificate(), kMaxFileBytes);
  if (!bundle.ok()) return bundle.status();
  std::vector<std::string> problems;
  absl::StatusOr<std::unique_ptr<ChainVerifier>> verifier =
      ChainVerifier::Build(*bundle, {}, false, &problems);
  if (!verifier.ok()) return verifier.status();
  for (ChainVerifier::Purpose purpose :
       {ChainVerifier::Purpose::kServer, ChainVerifier::Purpose::kClient}) {
    if (absl::Status chained =
            (*verifier)->Verify(chain_pem, chain_pem, purpose);
        !chained.ok())
      return absl::PermissionDeniedError(
          absl::StrCat("the controller sent a certificate that does not chain "
                       "to ",
                       tls.ca_certificate(), ": ", chained.message()));
  }
  // The certificate being replaced joins the earlier ones (its key signed
  // the results so far). All three staged before any is replaced: a full
  // disk leaves the old pair.
  std::string earlier;
  if (absl::StatusOr<std::string> current =
          ReadRegularFile(tls.certificate(), kMaxFileBytes);
      current.ok() && ParseCertificatePem(*current).ok()) {
    // Its leaf: the host CA after it is no certificate of the host's.
    std::vector<std::string> chain = PemCertificateBlocks(*current);
    if (!chain.empty()) earlier = chain.front() + "\n";
  }
  if (absl::StatusOr<std::string> kept =
          ReadRegularFile(EarlierCertificatesPath(config), 1 << 20);
      kept.ok()) {
    std::vector<std::string> blocks = PemCertificateBlocks(*kept);
    for (size_t i = 0;
         i < blocks.size() && i + 1 < size_t{kMaxEarlierCertificates}; ++i)
      absl::StrAppend(&earlier, blocks[i], "\n");
  }
  std::vector<FileContent> files;
  if (!earlier.empty())
    files.push_back({EarlierCertificatesPath(config), earlier, 0644});
  files.push_back({tls.private_key(), std::string(key_pem), 0600});
  files.push_back({tls.certificate(), std::string(chain_pem), 0644});
  return ReplaceFiles(files);
}

std::string EarlierCertificatesPath(const v1::AgentConfig& config) {
  return config.tls().certificate() + ".earlier";
}

}  // namespace opsagent
