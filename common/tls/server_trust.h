#ifndef OPSAGENT_COMMON_TLS_SERVER_TRUST_H_
#define OPSAGENT_COMMON_TLS_SERVER_TRUST_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/tls/chain_verifier.h"
#include "common/tls/staging_directory.h"
#include "common/tls/tls_files.h"
#include "grpcpp/security/tls_certificate_verifier.h"

namespace opsagent {

// The TLS files a server trusts (its certificate and key, the CA bundle its
// clients must chain to, the CRL directory), checked before every use.
//
// At start and then every refresh interval, each configured file must pass
// CheckTrustedPath (nobody but root and this user may change it, nor any
// directory on its way) and parse. What passes is copied into a private
// staging directory, which is what gRPC's certificate watcher reads, and the
// client check (ChainVerifier) is rebuilt from it; what fails is refused and
// logged, and the last good copy stays in use. So an unprivileged user who can
// write ca.crt cannot slip their own CA into the running server, and a CRL
// written over <hash>.r0 applies to new connections within one interval.
//
// Thread-safe. The refresh thread stops and the staging directory (see
// StagingDirectory) is removed when the ServerTrust is destroyed; the verifier
// it handed out then keeps the last state.
class ServerTrust {
 public:
  // Fails (naming the file and why) unless every file passes now.
  static absl::StatusOr<std::unique_ptr<ServerTrust>> Create(
      const TlsFiles& files);
  ~ServerTrust();

  // The staged copies, for the certificate watcher.
  const TlsFiles& staged() const { return staged_; }

  // Verifies each client at the handshake, after gRPC's own chain check,
  // with ChainVerifier: against the trusted CA bundle, refusing operator
  // certificates issued through a host CA, and with a CRL directory
  // revocation that fails closed. The server's own certificate is exempt, so
  // that its liveness probe works while a CRL is missing.
  std::shared_ptr<grpc::experimental::CertificateVerifier> verifier() const {
    return verifier_;
  }
  // Verifies a certificate that reached this server other than by its own
  // TLS handshake exactly as the handshake would: its chain to the trusted
  // CA bundle, its validity, the host CA rule (ChainVerifier), and with a
  // CRL directory its revocation, failing closed. An operator's relayed by the
  // controller (a client certificate), or the controller's own when the agent
  // dialed it (a server certificate: revoking a controller must cut it off
  // too).
  absl::Status VerifyCertificate(
      absl::string_view pem,
      ChainVerifier::Purpose purpose = ChainVerifier::Purpose::kClient) const;

  // The chain check in use now (null until a CA bundle has passed). Refresh
  // builds a new one whenever the CA bundle or a CRL changes, so an answer
  // it gave may be kept while it is still the one returned here
  // (OperatorCertificateCache).
  std::shared_ptr<const ChainVerifier> chain() const;

  // When this server's own certificate (the last one that passed, which it
  // serves with) expires: read when Refresh takes a new certificate, so
  // asking costs no file read.
  absl::StatusOr<absl::Time> CertificateNotAfter() const;

  // One check of every file; the refresh thread calls it each interval.
  // Returns the first refusal, if any (it is also logged).
  absl::Status Refresh();

  struct State;  // shared with the verifier

 private:
  ServerTrust() = default;

  TlsFiles configured_;
  TlsFiles staged_;
  std::unique_ptr<StagingDirectory> staging_;
  std::shared_ptr<State> state_;
  std::shared_ptr<grpc::experimental::CertificateVerifier> verifier_;
  absl::Mutex refresh_mutex_;
  std::string last_problem_ ABSL_GUARDED_BY(refresh_mutex_);
  std::string crl_fingerprint_ ABSL_GUARDED_BY(refresh_mutex_);
  absl::Notification stop_;
  std::thread refresher_;
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_SERVER_TRUST_H_
