#include "tests/testing/test_pki.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace opsagent::testing {

struct TestCertificateAuthority::Keys {
  EVP_PKEY* key = nullptr;
  X509* certificate = nullptr;
  ~Keys() {
    EVP_PKEY_free(key);
    X509_free(certificate);
  }
};

namespace {

absl::Status WritePem(const std::string& path, EVP_PKEY* key, X509* cert) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      key ? 0600 : 0644);
  FILE* file = fd >= 0 ? fdopen(fd, "w") : nullptr;
  if (file == nullptr)
    return absl::InternalError(absl::StrCat("cannot write ", path));
  fchmod(fd, key ? 0600 : 0644);
  bool ok = key ? PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr,
                                       nullptr)
                : PEM_write_X509(file, cert);
  std::fclose(file);
  return ok ? absl::OkStatus()
            : absl::InternalError(absl::StrCat("cannot encode ", path));
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension =
      X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr)
    return absl::InternalError(absl::StrCat("bad extension ", value));
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  return absl::OkStatus();
}

// Builds and signs a certificate for `key`; a null issuer means self-signed.
absl::StatusOr<X509*> MakeCertificate(EVP_PKEY* key,
                                      const CertificateSpec& spec, X509* issuer,
                                      EVP_PKEY* issuer_key, bool ca) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* number = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert));
  BN_free(number);
  X509_gmtime_adj(X509_getm_notBefore(cert),
                  absl::ToInt64Seconds(spec.not_before_from_now));
  X509_gmtime_adj(X509_getm_notAfter(cert),
                  absl::ToInt64Seconds(spec.not_after_from_now));
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(
      name, "O", MBSTRING_UTF8,
      reinterpret_cast<const unsigned char*>("opsagent test"), -1, -1, 0);
  for (const std::string& ou : spec.organizational_units) {
    X509_NAME_add_entry_by_txt(
        name, "OU", MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>(ou.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_UTF8,
      reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1,
      0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert, key);
  X509* signer = issuer ? issuer : cert;
  const bool intermediate = ca && issuer != nullptr;
  absl::Status status =
      AddExtension(cert, signer, NID_basic_constraints,
                   intermediate ? "critical,CA:TRUE,pathlen:0"
                                : (ca ? "critical,CA:TRUE" : "CA:FALSE"));
  if (status.ok()) {
    status = AddExtension(
        cert, signer, NID_key_usage,
        ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  }
  const std::string usage = spec.extended_key_usage.value_or(
      spec.server ? "serverAuth,clientAuth" : "clientAuth");
  if (status.ok() && (!ca || intermediate) && !usage.empty())
    status = AddExtension(cert, signer, NID_ext_key_usage,
                          intermediate && !spec.extended_key_usage
                              ? "serverAuth,clientAuth"
                              : usage);
  if (status.ok() && ca)
    status = AddExtension(cert, signer, NID_subject_key_identifier, "hash");
  if (status.ok() && !spec.name_constraints.empty())
    status =
        AddExtension(cert, signer, NID_name_constraints, spec.name_constraints);
  std::vector<std::string> sans;
  for (const std::string& dns : spec.dns_names)
    sans.push_back(absl::StrCat("DNS:", dns));
  for (const std::string& ip : spec.ip_addresses)
    sans.push_back(absl::StrCat("IP:", ip));
  if (status.ok() && !sans.empty()) {
    status = AddExtension(cert, signer, NID_subject_alt_name,
                          absl::StrJoin(sans, ","));
  }
  if (status.ok() &&
      X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
    status = absl::InternalError("signing failed");
  }
  if (!status.ok()) {
    X509_free(cert);
    return status;
  }
  return cert;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestCertificateAuthority>>
TestCertificateAuthority::Create(const std::string& directory,
                                 const std::string& name) {
  std::unique_ptr<TestCertificateAuthority> ca(new TestCertificateAuthority());
  ca->directory_ = directory;
  ca->keys_ = std::make_unique<Keys>();
  ca->keys_->key = EVP_EC_gen("P-256");
  CertificateSpec spec;
  spec.common_name = absl::StrCat(name, " test CA");
  spec.not_after_from_now = absl::Hours(24 * 30);
  absl::StatusOr<X509*> cert =
      MakeCertificate(ca->keys_->key, spec, nullptr, nullptr, /*ca=*/true);
  if (!cert.ok()) return cert.status();
  ca->keys_->certificate = *cert;
  ca->certificate_path_ = absl::StrCat(directory, "/", name, "-ca.crt");
  if (absl::Status s = WritePem(ca->certificate_path_, nullptr, *cert); !s.ok())
    return s;
  return ca;
}

TestCertificateAuthority::~TestCertificateAuthority() = default;

absl::StatusOr<CertificateFiles> TestCertificateAuthority::Issue(
    const std::string& name, const CertificateSpec& spec) {
  return IssueSigned(name, spec, /*ca=*/false);
}

absl::StatusOr<CertificateFiles> TestCertificateAuthority::IssueIntermediate(
    const std::string& name, const CertificateSpec& spec) {
  return IssueSigned(name, spec, /*ca=*/true);
}

absl::StatusOr<CertificateFiles> TestCertificateAuthority::IssueSigned(
    const std::string& name, const CertificateSpec& spec, bool ca) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  absl::StatusOr<X509*> cert =
      MakeCertificate(key, spec, keys_->certificate, keys_->key, ca);
  if (!cert.ok()) {
    EVP_PKEY_free(key);
    return cert.status();
  }
  CertificateFiles files{absl::StrCat(directory_, "/", name, ".crt"),
                         absl::StrCat(directory_, "/", name, ".key")};
  absl::Status status = WritePem(files.certificate, nullptr, *cert);
  if (status.ok()) status = WritePem(files.private_key, key, nullptr);
  X509_free(*cert);
  EVP_PKEY_free(key);
  if (!status.ok()) return status;
  return files;
}

absl::StatusOr<std::string> TestCertificateAuthority::WriteCrl(
    const std::string& directory,
    const std::vector<std::string>& revoked_certificates,
    absl::Duration next_update_from_now) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(keys_->certificate));
  ASN1_TIME* now = X509_gmtime_adj(nullptr, -3600);
  ASN1_TIME* next =
      X509_gmtime_adj(nullptr, absl::ToInt64Seconds(next_update_from_now));
  X509_CRL_set1_lastUpdate(crl, now);
  X509_CRL_set1_nextUpdate(crl, next);
  for (const std::string& path : revoked_certificates) {
    FILE* file = std::fopen(path.c_str(), "r");
    X509* cert =
        file ? PEM_read_X509(file, nullptr, nullptr, nullptr) : nullptr;
    if (file) std::fclose(file);
    if (cert == nullptr) {
      X509_CRL_free(crl);
      return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
    }
    X509_REVOKED* revoked = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(revoked, X509_get_serialNumber(cert));
    X509_REVOKED_set_revocationDate(revoked, now);
    X509_CRL_add0_revoked(crl, revoked);
    X509_free(cert);
  }
  ASN1_TIME_free(now);
  ASN1_TIME_free(next);
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, keys_->key, EVP_sha256());
  const std::string path = absl::StrCat(
      directory, "/",
      absl::StrFormat(
          "%08lx", X509_NAME_hash_ex(X509_get_subject_name(keys_->certificate),
                                     nullptr, nullptr, nullptr)),
      ".r0");
  // Written beside and renamed over, as a CRL distribution job would.
  const std::string temporary = path + ".new";
  FILE* out = std::fopen(temporary.c_str(), "w");
  bool ok = out != nullptr && PEM_write_X509_CRL(out, crl);
  if (out) std::fclose(out);
  ok = ok && rename(temporary.c_str(), path.c_str()) == 0;
  X509_CRL_free(crl);
  if (!ok) return absl::InternalError(absl::StrCat("cannot write ", path));
  return path;
}

absl::Status WriteEd25519Key(const std::string& path,
                             const std::string& public_path) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  const bool made = context != nullptr && EVP_PKEY_keygen_init(context) == 1 &&
                    EVP_PKEY_keygen(context, &key) == 1;
  EVP_PKEY_CTX_free(context);
  if (!made) return absl::InternalError("cannot make an Ed25519 key");
  unlink(path.c_str());
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  FILE* file = fd >= 0 ? fdopen(fd, "w") : nullptr;
  bool written =
      file != nullptr && PEM_write_PrivateKey(file, key, nullptr, nullptr, 0,
                                              nullptr, nullptr) == 1;
  if (file != nullptr) std::fclose(file);
  if (written && !public_path.empty()) {
    FILE* public_file = std::fopen(public_path.c_str(), "w");
    written = public_file != nullptr && PEM_write_PUBKEY(public_file, key) == 1;
    if (public_file != nullptr) std::fclose(public_file);
  }
  EVP_PKEY_free(key);
  if (!written) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace opsagent::testing
