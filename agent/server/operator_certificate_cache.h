#ifndef OPSAGENT_AGENT_SERVER_OPERATOR_CERTIFICATE_CACHE_H_
#define OPSAGENT_AGENT_SERVER_OPERATOR_CERTIFICATE_CACHE_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/tls/chain_verifier.h"
#include "common/tls/peer_identity.h"
#include "common/tls/server_trust.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace opsagent {

// An operator certificate that passed this agent's trust (chain, validity,
// host CA rule, CRLs) and names a caller: what a relayed call needs of it,
// parsed once.
class VerifiedOperator {
 public:
  ~VerifiedOperator();
  VerifiedOperator(const VerifiedOperator&) = delete;
  VerifiedOperator& operator=(const VerifiedOperator&) = delete;

  const PeerIdentity& identity() const { return identity_; }
  // SHA-256 of the certificate's DER: what signed envelopes name it by.
  const std::string& certificate_sha256() const { return certificate_sha256_; }
  // Its public key, for the request's signature (OpenSignedRequest); owned
  // by this object, safe to use from several threads.
  EVP_PKEY* public_key() const;
  // Until when the verification holds (see ChainVerifier::VerifyParsed).
  absl::Time valid_until() const { return valid_until_; }

 private:
  friend class OperatorCertificateCache;
  VerifiedOperator() = default;
  struct Certificates;
  std::unique_ptr<Certificates> certificates_;
  PeerIdentity identity_;
  std::string certificate_sha256_;
  absl::Time valid_until_;
};

// The operator certificates of relayed calls, each parsed and verified once
// against the agent's trust (ServerTrust) and then reused: with OpenSSL 3
// parsing a certificate and decoding its key costs more than the rest of a
// small call, and a controller relays the same few operators' certificates
// all day. Each call's own checks (its signature, lifetime, target, replay)
// stay per call, by the caller.
//
// An answer is kept, by the SHA-256 of the certificate's PEM, only while
// (1) the ChainVerifier it came from is still the trust's current one: a
// new CA bundle or any changed CRL builds a new one (ServerTrust::Refresh)
// and empties the cache, so a revocation applies to the next call after
// the refresh that reads it, as at a TLS handshake; and (2) `now` is before
// the earliest notAfter on its chain and, with CRLs, the earliest CRL
// nextUpdate. Refusals are not kept. At most `capacity` certificates; when
// full, expired ones go and then all. Thread-safe.
class OperatorCertificateCache {
 public:
  // `trust` must outlive the cache.
  explicit OperatorCertificateCache(const ServerTrust& trust,
                                    size_t capacity = 256);

  // The verified operator `pem` names at `now`; UNAUTHENTICATED (why, in
  // words an operator can act on) when the trust refuses it or it is not an
  // operator certificate.
  absl::StatusOr<std::shared_ptr<const VerifiedOperator>> Verify(
      absl::string_view pem, absl::Time now);

 private:
  absl::StatusOr<std::shared_ptr<const VerifiedOperator>> VerifyAnew(
      absl::string_view pem, const ChainVerifier& chain, absl::Time now);

  const ServerTrust& trust_;
  const size_t capacity_;
  PeerIdentityReader identities_;
  absl::Mutex mutex_;
  // The verifier the entries were verified with.
  std::shared_ptr<const ChainVerifier> verified_with_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, std::shared_ptr<const VerifiedOperator>>
      entries_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_OPERATOR_CERTIFICATE_CACHE_H_
