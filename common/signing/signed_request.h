#ifndef OPSAGENT_COMMON_SIGNING_SIGNED_REQUEST_H_
#define OPSAGENT_COMMON_SIGNING_SIGNED_REQUEST_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "opsagent/v1/controller.pb.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace opsagent {

// The longest a signed request may be valid, issued-at to expiry.
inline constexpr absl::Duration kMaxSignedRequestLifetime = absl::Seconds(60);
// How far ahead of the agent's clock an operator's may be.
inline constexpr absl::Duration kMaxClockSkew = absl::Seconds(30);

// Signs what an operator asks one host to run, with the operator's private
// key, so that a controller relaying it can neither mint one nor change its
// operation, parameters or target, nor replay it outside its lifetime (the
// agent's replay cache covers the lifetime itself). Used by opsctl.
class RequestSigner {
 public:
  // The operator's certificate and private key (PEM files).
  static absl::StatusOr<std::unique_ptr<RequestSigner>> FromFiles(
      const std::string& certificate_path, const std::string& key_path);
  ~RequestSigner();

  // `envelope` (request id, operation, request, target host) with the
  // certificate's digest, issued-at `now`, an expiry `lifetime` later (at
  // most kMaxSignedRequestLifetime) and a fresh nonce filled in, serialized
  // and signed.
  absl::StatusOr<v1::SignedRequest> Sign(
      v1::RequestEnvelope envelope, absl::Time now,
      absl::Duration lifetime = kMaxSignedRequestLifetime) const;

  // SHA-256 of the certificate's DER: what envelopes name it by.
  const std::string& certificate_sha256() const { return certificate_sha256_; }

 private:
  RequestSigner(EVP_PKEY* key, std::string certificate_sha256)
      : key_(key), certificate_sha256_(std::move(certificate_sha256)) {}

  EVP_PKEY* const key_;
  const std::string certificate_sha256_;
};

// SHA-256 of a PEM certificate's DER, or an error if it is not one.
absl::StatusOr<std::string> CertificateSha256(absl::string_view pem);

// Opens a signed request that claims to come from the holder of
// `certificate_pem` (which the caller has verified against its trust
// store): the envelope must name that certificate, carry its key's
// signature over the exact bytes signed, live at most
// kMaxSignedRequestLifetime, and be current at `now` (issued no more than
// kMaxClockSkew ahead, not expired). Returns the envelope; every refusal
// says which check failed.
absl::StatusOr<v1::RequestEnvelope> OpenSignedRequest(
    const v1::SignedRequest& signed_request, absl::string_view certificate_pem,
    absl::Time now);

// OpenSignedRequest for a certificate parsed and verified once and kept (the
// agent's OperatorCertificateCache): `certificate_sha256` is the SHA-256 of
// its DER, `public_key` its key. Every check on the request itself is the
// same, at every call.
absl::StatusOr<v1::RequestEnvelope> OpenSignedRequest(
    const v1::SignedRequest& signed_request,
    absl::string_view certificate_sha256, EVP_PKEY* public_key, absl::Time now);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_SIGNING_SIGNED_REQUEST_H_
