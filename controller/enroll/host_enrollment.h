#ifndef OPSAGENT_CONTROLLER_ENROLL_HOST_ENROLLMENT_H_
#define OPSAGENT_CONTROLLER_ENROLL_HOST_ENROLLMENT_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/tls/peer_identity.h"
#include "controller/audit/audit_store.h"
#include "controller/enroll/crl_publisher.h"
#include "controller/enroll/enrollment_store.h"
#include "controller/enroll/host_ca.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// The controller's side of a fleet that enrolls itself: enrollment tokens,
// hosts enrolling with one (a certificate from the host CA for exactly the
// name asked, with the token's roles, for a short life), renewals over a
// host's link, and revocation. Every token made or revoked, every
// enrollment and renewal, and every refusal of a caller holding a real
// token is a row of the team's log; a request with no valid token writes
// nothing there (anyone can send one) and is only counted and logged.
// Thread-safe; renewals run on a thread of its own, stopped on destruction.
class HostEnrollment {
 public:
  struct Options {
    absl::Duration certificate_life = absl::Hours(168);
    // Whether a host holds a link now (a connected name is not given out
    // again), and ending one (revocation); both by host name.
    std::function<bool(const std::string& host)> connected;
    std::function<bool(const std::string& host, const std::string& why)>
        end_link;
  };
  HostEnrollment(std::unique_ptr<HostCa> ca, EnrollmentStore* store,
                 AuditStore* audit, CrlPublisher* crl, Options options);
  ~HostEnrollment();

  // Enrollment.Enroll, from `peer` (its address, for the log).
  absl::StatusOr<v1::EnrollReply> Enroll(const v1::EnrollRequest& request,
                                         const std::string& peer);

  // Renews the certificate `serial_hex` that the link of `host` holds, for
  // the key of `csr_pem`; `done` gets the answer, on the renewal thread.
  void RenewLater(std::string host, std::string serial_hex, std::string csr_pem,
                  std::function<void(v1::CertificateRenewed)> done);

  // What the controller knows of a link's certificate: its record when the
  // host CA issued it (the roles and environment it was enrolled with),
  // nullopt for one made by hand, PERMISSION_DENIED when it was revoked.
  absl::StatusOr<std::optional<HostCertificateRecord>> CheckLinkCertificate(
      const std::string& serial_hex);

  // The Controller RPCs of permission "enroll".
  absl::StatusOr<v1::EnrollmentTokenCreated> CreateToken(
      const PeerIdentity& caller, const v1::EnrollmentTokenRequest& request);
  absl::StatusOr<v1::ListEnrollmentTokensReply> ListTokens(
      const v1::ListEnrollmentTokensRequest& request);
  absl::StatusOr<v1::EnrollmentToken> RevokeToken(
      const PeerIdentity& caller,
      const v1::RevokeEnrollmentTokenRequest& request);
  absl::StatusOr<v1::RevokeHostReply> RevokeHost(
      const PeerIdentity& caller, const v1::RevokeHostRequest& request);

  // Enrollment requests refused before any token was found (malformed, or
  // no such token): counted, not logged in the team's log.
  int64_t refused_without_token() const;

 private:
  // What can be refused before anything is issued: the name (a lower-case
  // DNS name matching the token's patterns, not revoked since the token was
  // made, not held by a connected host) and the token's state.
  absl::Status CheckEnrollment(const v1::EnrollRequest& request,
                               const v1::EnrollmentToken& token);
  absl::StatusOr<v1::EnrollReply> IssueAndRecord(
      const v1::EnrollRequest& request, const v1::EnrollmentToken& token);
  // Refusals written to the team's log per token: at most
  // kRefusalsPerMinute a minute, so that a leaked token (revoked or not)
  // cannot fill the log; past it, requests with it are refused unwritten.
  bool RefusalBudgetLeft(const std::string& token_id);
  void ChargeRefusal(const std::string& token_id);
  v1::CertificateRenewed Renew(const std::string& host,
                               const std::string& serial_hex,
                               const std::string& csr_pem);
  void RunRenewals();

  const std::unique_ptr<HostCa> ca_;
  EnrollmentStore* const store_;
  AuditStore* const audit_;
  CrlPublisher* const crl_;
  const Options options_;

  struct Renewal {
    std::string host, serial_hex, csr_pem;
    std::function<void(v1::CertificateRenewed)> done;
  };
  mutable absl::Mutex mutex_;
  std::deque<Renewal> renewals_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t refused_without_token_ ABSL_GUARDED_BY(mutex_) = 0;
  struct RefusalWindow {
    absl::Time start;
    int count = 0;
  };
  absl::flat_hash_map<std::string, RefusalWindow> refusals_
      ABSL_GUARDED_BY(mutex_);
  absl::Time last_refusal_logged_ ABSL_GUARDED_BY(mutex_);
  std::thread renewer_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ENROLL_HOST_ENROLLMENT_H_
