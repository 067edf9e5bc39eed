#include "common/signing/signed_request.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/signing/evp_key.h"

namespace opsagent {
namespace {

constexpr size_t kNonceBytes = 16;

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using UniqueX509 = std::unique_ptr<X509, X509Deleter>;

UniqueX509 ParseCertificate(absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return nullptr;
  UniqueX509 cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

std::string DerSha256(X509* cert) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  if (length <= 0) return "";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(length), digest);
  OPENSSL_free(der);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RequestSigner>> RequestSigner::FromFiles(
    const std::string& certificate_path, const std::string& key_path) {
  BIO* cert_file = BIO_new_file(certificate_path.c_str(), "r");
  if (cert_file == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the operator certificate ", certificate_path,
                     " to sign requests"));
  }
  UniqueX509 cert(PEM_read_bio_X509(cert_file, nullptr, nullptr, nullptr));
  BIO_free(cert_file);
  if (cert == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        certificate_path, " is not a PEM certificate; cannot sign requests"));
  }
  absl::StatusOr<UniqueEvpKey> key =
      ReadPrivateKeyFile(key_path, "sign requests");
  if (!key.ok()) return key.status();
  if (X509_check_private_key(cert.get(), key->get()) != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("the private key ", key_path,
                     " does not belong to the certificate ", certificate_path));
  }
  return std::unique_ptr<RequestSigner>(
      new RequestSigner(key->release(), DerSha256(cert.get())));
}

RequestSigner::~RequestSigner() { EVP_PKEY_free(key_); }

absl::StatusOr<v1::SignedRequest> RequestSigner::Sign(
    v1::RequestEnvelope envelope, absl::Time now,
    absl::Duration lifetime) const {
  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, sizeof(nonce)) != 1)
    return absl::InternalError("no randomness for a request nonce");
  envelope.set_operator_certificate_sha256(certificate_sha256_);
  envelope.set_issued_at_unix_ms(absl::ToUnixMillis(now));
  envelope.set_expires_at_unix_ms(
      absl::ToUnixMillis(now + std::min(lifetime, kMaxSignedRequestLifetime)));
  envelope.set_nonce(reinterpret_cast<char*>(nonce), sizeof(nonce));
  v1::SignedRequest signed_request;
  envelope.SerializeToString(signed_request.mutable_envelope());
  absl::StatusOr<std::string> signature =
      SignBytes(key_, signed_request.envelope());
  if (!signature.ok())
    return absl::InternalError("cannot sign with the operator's key");
  signed_request.set_signature(*std::move(signature));
  return signed_request;
}

absl::StatusOr<std::string> CertificateSha256(absl::string_view pem) {
  UniqueX509 cert = ParseCertificate(pem);
  if (cert == nullptr)
    return absl::InvalidArgumentError("not a PEM certificate");
  return DerSha256(cert.get());
}

absl::StatusOr<v1::RequestEnvelope> OpenSignedRequest(
    const v1::SignedRequest& signed_request, absl::string_view certificate_pem,
    absl::Time now) {
  UniqueX509 cert = ParseCertificate(certificate_pem);
  return OpenSignedRequest(
      signed_request, cert != nullptr ? DerSha256(cert.get()) : "",
      cert != nullptr ? X509_get0_pubkey(cert.get()) : nullptr, now);
}

absl::StatusOr<v1::RequestEnvelope> OpenSignedRequest(
    const v1::SignedRequest& signed_request,
    absl::string_view certificate_sha256, EVP_PKEY* public_key,
    absl::Time now) {
  if (signed_request.envelope().empty() || signed_request.signature().empty())
    return absl::UnauthenticatedError("the request is not signed");
  v1::RequestEnvelope envelope;
  if (!envelope.ParseFromString(signed_request.envelope()))
    return absl::UnauthenticatedError("the signed request is not an envelope");
  if (public_key == nullptr)
    return absl::UnauthenticatedError("no operator certificate to check with");
  if (envelope.operator_certificate_sha256() != certificate_sha256) {
    return absl::UnauthenticatedError(
        "the request was signed for another operator certificate");
  }
  if (!VerifyBytes(public_key, signed_request.envelope(),
                   signed_request.signature())) {
    return absl::UnauthenticatedError(
        "the request's signature is not the operator's (forged or altered "
        "after signing)");
  }
  const absl::Time issued = absl::FromUnixMillis(envelope.issued_at_unix_ms());
  const absl::Time expires =
      absl::FromUnixMillis(envelope.expires_at_unix_ms());
  if (expires <= issued || expires - issued > kMaxSignedRequestLifetime) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the signed request is valid for longer than ",
        absl::FormatDuration(kMaxSignedRequestLifetime), " (or not at all)"));
  }
  if (issued > now + kMaxClockSkew) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the signed request was issued ",
        absl::FormatDuration(absl::Trunc(issued - now, absl::Seconds(1))),
        " in the future by this host's clock"));
  }
  if (now >= expires) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the signed request expired ",
        absl::FormatDuration(absl::Trunc(now - expires, absl::Seconds(1))),
        " ago (replayed, or held back by the controller)"));
  }
  if (envelope.nonce().size() < kNonceBytes)
    return absl::UnauthenticatedError("the signed request has no nonce");
  return envelope;
}

}  // namespace opsagent
