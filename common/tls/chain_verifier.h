#ifndef OPSAGENT_COMMON_TLS_CHAIN_VERIFIER_H_
#define OPSAGENT_COMMON_TLS_CHAIN_VERIFIER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

typedef struct x509_st X509;

namespace opsagent {

// Verifies a peer's certificate chain against a CA bundle and the
// revocation lists of the CAs that issued it, with OpenSSL's own chain and
// CRL checks (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL).
//
// Revocation fails closed: when CRLs are required, a certificate is refused
// unless the CA that issued it (and each intermediate's issuer) has a CRL
// here that is signed by it and current (thisUpdate <= now < nextUpdate). A
// missing, unreadable or expired CRL refuses every client of that CA. gRPC's
// own CRL directory support does neither: it serves everyone when the CRL is
// missing and never re-reads a CRL file it has loaded once.
//
// Host CAs cannot make operators: a client certificate shaped like an
// operator's (extendedKeyUsage clientAuth without serverAuth, the only kind
// PeerIdentity takes a caller's name from) is refused when any CA on its
// verified chain carries name constraints. That is what marks the
// intermediate the controller holds to enroll hosts (make-dev-pki.sh
// host-ca), so a stolen controller key can mint hosts of the fleet's domain,
// never operators. Operator certificates come from CAs without name
// constraints (the team's root, or an operator CA).
//
// Immutable once built, so one instance may be used from any thread; rebuild
// it to take new files into account.
class ChainVerifier {
 public:
  // `ca_bundle_pem` holds the trusted CA certificates; each of `crl_files`
  // is the content of one CRL file (PEM, possibly several CRLs, or DER).
  // Files that hold no CRL, or CRLs of CAs outside the bundle, are reported
  // in `problems` and ignored.
  static absl::StatusOr<std::unique_ptr<ChainVerifier>> Build(
      absl::string_view ca_bundle_pem,
      const std::vector<std::pair<std::string, std::string>>& crl_files,
      bool crls_required, std::vector<std::string>* problems);
  ~ChainVerifier();

  // What the certificate must be good for (its key usages): a client's,
  // or a server's (the controller an agent dials).
  enum class Purpose { kClient, kServer };

  // `leaf_pem` is the peer's certificate, `chain_pem` what else it sent
  // (may repeat the leaf). Errors (UNAUTHENTICATED) say why in words an
  // operator can act on. kClient applies the host CA rule above.
  absl::Status Verify(absl::string_view leaf_pem, absl::string_view chain_pem,
                      Purpose purpose = Purpose::kClient) const;
  // Verify for certificates already parsed (`leaf`, and `intermediates` it
  // may need to reach a CA of the bundle), at `now`: for a caller that parses
  // a certificate once and keeps the answer (OperatorCertificateCache). On
  // success, the time until which the answer holds as things are: the
  // earliest notAfter on the verified chain and, when CRLs are required, the
  // earliest nextUpdate of the bundle's CRLs. A CRL that revokes it later
  // comes with a new ChainVerifier (ServerTrust rebuilds it when a CRL
  // changes), so the answer holds only as long as this instance is current.
  absl::StatusOr<absl::Time> VerifyParsed(
      X509* leaf, const std::vector<X509*>& intermediates, absl::Time now,
      Purpose purpose = Purpose::kClient) const;
  // Verify, whatever the time: that the CA issued it (and has not revoked
  // it), for a certificate that may have expired since it signed something
  // (the one a host held before it renewed).
  absl::Status VerifyIssuance(absl::string_view leaf_pem,
                              absl::string_view chain_pem,
                              Purpose purpose) const;

  // One line per CA of the bundle: its name and its CRL's state, for the log.
  const std::vector<std::string>& description() const { return description_; }

 private:
  ChainVerifier() = default;
  absl::Status VerifyWithFlags(absl::string_view leaf_pem,
                               absl::string_view chain_pem, Purpose purpose,
                               unsigned long extra_flags) const;
  // The check itself; `at` (unless InfinitePast) is the time to check
  // validity at; `valid_until` (may be null) receives VerifyParsed's bound.
  absl::Status VerifyChain(X509* leaf, const std::vector<X509*>& intermediates,
                           Purpose purpose, unsigned long extra_flags,
                           absl::Time at, absl::Time* valid_until) const;
  struct Store;
  std::unique_ptr<Store> store_;
  bool crls_required_ = false;
  // With CRLs required: the earliest nextUpdate of the CAs' newest CRLs (a
  // CA without one verifies nothing, so it does not count; a CRL without
  // nextUpdate makes it InfinitePast, so no answer is kept).
  absl::Time crls_valid_until_ = absl::InfiniteFuture();
  std::vector<std::string> description_;
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_CHAIN_VERIFIER_H_
