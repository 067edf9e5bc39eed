#ifndef OPSAGENT_TESTS_TESTING_TEST_PKI_H_
#define OPSAGENT_TESTS_TESTING_TEST_PKI_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace opsagent::testing {

// What to put in a test certificate. Validity is relative to now, so tests
// can make expired and not-yet-valid certificates (which Debian 12's openssl
// command line cannot backdate).
struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> organizational_units;  // operator roles
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  absl::Duration not_before_from_now = -absl::Hours(1);
  absl::Duration not_after_from_now = absl::Hours(24);
  // An agent's certificate: serverAuth and clientAuth (it serves opsctl and
  // dials the controller), instead of an operator's clientAuth alone.
  bool server = false;
  // Overrides the extended key usage ("serverAuth", ...; "" leaves the
  // extension out), for certificates opsagent must refuse.
  std::optional<std::string> extended_key_usage;
  // An intermediate CA's (IssueIntermediate) nameConstraints, as OpenSSL's
  // configuration writes it ("critical,permitted;DNS:.fleet.test").
  std::string name_constraints;
};

// PEM files of one issued certificate. Keys are written 0600, certificates
// 0644, as opsagent requires of trust files.
struct CertificateFiles {
  std::string certificate;
  std::string private_key;
};

// A throwaway certificate authority that writes PEM files into a directory.
class TestCertificateAuthority {
 public:
  // Creates NAME-ca.crt / NAME-ca.key in `directory`.
  static absl::StatusOr<std::unique_ptr<TestCertificateAuthority>> Create(
      const std::string& directory, const std::string& name);
  ~TestCertificateAuthority();

  // Issues NAME.crt / NAME.key signed by this CA.
  absl::StatusOr<CertificateFiles> Issue(const std::string& name,
                                         const CertificateSpec& spec);

  // Issues an intermediate CA (CA:TRUE, pathlen 0, keyCertSign and
  // cRLSign, serverAuth and clientAuth unless the spec says otherwise, the
  // spec's name constraints) as NAME.crt / NAME.key: a host CA.
  absl::StatusOr<CertificateFiles> IssueIntermediate(
      const std::string& name, const CertificateSpec& spec);

  // Writes this CA's revocation list, listing the given certificate files,
  // into `directory` as <issuer hash>.r0 (the name `openssl rehash` gives),
  // replacing what is there. The CRL was issued an hour ago and its
  // nextUpdate is `next_update_from_now` away (negative: already expired).
  // Returns its path.
  absl::StatusOr<std::string> WriteCrl(
      const std::string& directory,
      const std::vector<std::string>& revoked_certificates,
      absl::Duration next_update_from_now = absl::Hours(24));

  const std::string& certificate_path() const { return certificate_path_; }

 private:
  TestCertificateAuthority() = default;
  // Issues NAME.crt / NAME.key, a CA (an intermediate) when `ca`.
  absl::StatusOr<CertificateFiles> IssueSigned(const std::string& name,
                                               const CertificateSpec& spec,
                                               bool ca);

  std::string directory_;
  std::string certificate_path_;
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

// Writes a fresh Ed25519 private key (PEM, mode 0600) to `path` and its
// public half to `public_path` if given: an audit checkpoint key.
absl::Status WriteEd25519Key(const std::string& path,
                             const std::string& public_path = "");

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_TEST_PKI_H_
