#ifndef OPSAGENT_CONTROLLER_ENROLL_HOST_CA_H_
#define OPSAGENT_CONTROLLER_ENROLL_HOST_CA_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace opsagent {

// What a host certificate says; the host's request says nothing that is used.
struct HostCertificateTemplate {
  std::string host;                // DNS name; the only SAN and the CN
  std::vector<std::string> roles;  // subject OU values, in order
  absl::Duration lifetime;  // notAfter = now + lifetime, capped at the CA's
                            // own notAfter
};

struct IssuedCertificate {
  std::string certificate_pem;  // the leaf only
  std::string chain_pem;        // leaf followed by the CA's certificate
  std::string serial_hex;       // SerialHex (common/tls/certificate_info.h)
  absl::Time not_before;        // now - 5 minutes (clock skew), or a tenth of
                                // a shorter life
  absl::Time not_after;
};

struct RevokedCertificate {
  std::string serial_hex;  // as IssuedCertificate::serial_hex
  absl::Time revoked_at;
};

// The intermediate CA that issues host certificates (enrollment, renewal)
// and their revocation list. It holds the intermediate's key.
//
// The CA must be limited to hosts (make-dev-pki.sh host-ca makes one): name
// constraints permitting the fleet's DNS domain, path length 0. Agents and
// the controller refuse an operator-shaped certificate (clientAuth without
// serverAuth) issued through a name-constrained CA (ChainVerifier), so this
// key can mint hosts of the fleet, never operators.
//
// Immutable once loaded; every method may be called from any thread.
class HostCa {
 public:
  // Reads the CA certificate and key (unencrypted PEM). The key file must
  // pass CheckTrustedPath(kSecretFile), the certificate kFile. Refuses,
  // naming the file: a key not matching the certificate; a certificate that
  // is not a CA (basicConstraints CA:TRUE), lacks keyUsage keyCertSign and
  // cRLSign, has no pathLenConstraint 0, or has no nameConstraints with at
  // least one (non-empty) permitted DNS subtree; an expired one.
  static absl::StatusOr<std::unique_ptr<HostCa>> Load(
      const std::string& certificate_file, const std::string& key_file);
  ~HostCa();

  // Issues a certificate for the public key of `request_pem`, a PEM CSR
  // whose self-signature must verify (proof of possession). Only the CSR's
  // public key is used; its subject and extensions are ignored.
  //
  // INVALID_ARGUMENT, saying why: a key other than EC P-256 or P-384 or RSA
  // of at least 2048 bits (naming its type); `tmpl.host` not a DNS host name
  // (IsDnsHostName) or outside every permitted domain (naming them); a role
  // or host over 64 bytes or not printable text; a lifetime that is not
  // positive.
  //
  // The leaf: v3, a random positive 128-bit serial, subject O=opsagent,
  // OU=roles..., CN=host, SAN DNS:host only, basicConstraints critical
  // CA:FALSE, keyUsage critical digitalSignature (and keyEncipherment for
  // RSA), extendedKeyUsage serverAuth and clientAuth, subject and authority
  // key identifiers, signed with SHA-256.
  absl::StatusOr<IssuedCertificate> Issue(
      absl::string_view request_pem, const HostCertificateTemplate& tmpl) const;

  // A PEM CRL (v2) signed by the CA: the `revoked` entries, CRL number
  // `number` (>= 0), the authority key identifier, lastUpdate `this_update`
  // and nextUpdate `next_update` (after `this_update`). INVALID_ARGUMENT for
  // a serial that is not hex.
  absl::StatusOr<std::string> MakeCrl(
      const std::vector<RevokedCertificate>& revoked, int64_t number,
      absl::Time this_update, absl::Time next_update) const;

  const std::string& certificate_pem() const { return certificate_pem_; }
  // As written in the constraint, e.g. ".fleet.example".
  std::vector<std::string> permitted_domains() const {
    return permitted_domains_;
  }
  absl::Time not_after() const { return not_after_; }

 private:
  HostCa() = default;

  struct Keys;  // the OpenSSL objects
  std::unique_ptr<Keys> keys_;
  std::string certificate_pem_;
  std::vector<std::string> permitted_domains_;
  absl::Time not_after_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ENROLL_HOST_CA_H_
