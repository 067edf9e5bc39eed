#ifndef OPSAGENT_CONTROLLER_ENROLL_ENROLLMENT_STORE_H_
#define OPSAGENT_CONTROLLER_ENROLL_ENROLLMENT_STORE_H_

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// A certificate the host CA issued, as the controller remembers it.
struct HostCertificateRecord {
  std::string serial_hex;
  std::string host;
  std::vector<std::string> roles;
  std::string environment;
  std::string token_id;
  absl::Time not_after;
  // The life it was issued for; its renewals get the same.
  absl::Duration life;
  absl::Time revoked_at = absl::InfinitePast();  // InfinitePast: not revoked

  bool revoked() const { return revoked_at != absl::InfinitePast(); }
};

// Why `token` cannot be used at `now` (revoked, expired or used up), if it
// cannot: FAILED_PRECONDITION saying which.
absl::Status CheckTokenUsable(const v1::EnrollmentToken& token, absl::Time now);

// Enrollment tokens and the host certificates issued with them, in tables
// beside the team's log (its database file). Tokens are stored by the
// SHA-256 of their secret only. Thread-safe: one connection, one writer at
// a time.
class EnrollmentStore {
 public:
  static absl::StatusOr<std::unique_ptr<EnrollmentStore>> Open(
      const std::string& path);
  ~EnrollmentStore();

  // Stores a new token (`token.used` is ignored).
  absl::Status AddToken(const v1::EnrollmentToken& token,
                        const std::string& secret_sha256);
  // Tokens newest first; without `all` only those still usable at `now`.
  absl::StatusOr<std::vector<v1::EnrollmentToken>> ListTokens(bool all,
                                                              absl::Time now);
  // Marks the token revoked; NOT_FOUND for an unknown id,
  // FAILED_PRECONDITION if it already was.
  absl::StatusOr<v1::EnrollmentToken> RevokeToken(const std::string& id,
                                                  const std::string& by,
                                                  absl::Time now);

  // The token `id` if `secret_sha256` is its secret's digest:
  // UNAUTHENTICATED otherwise (an unknown id or a wrong secret alike). Says
  // nothing yet of whether it may be used.
  absl::StatusOr<v1::EnrollmentToken> FindToken(
      const std::string& id, const std::string& secret_sha256);

  // In one transaction: the token is still usable at `now` (not revoked,
  // not expired, a use left; FAILED_PRECONDITION naming which otherwise),
  // one use is taken, and `issued` is recorded. Nothing changes on error.
  absl::Status RecordEnrollment(const std::string& token_id,
                                const HostCertificateRecord& issued,
                                absl::Time now);
  // Records `issued` as the renewal of `previous` (same host, roles,
  // environment and token), in one transaction.
  absl::Status RecordRenewal(const std::string& previous_serial,
                             const HostCertificateRecord& issued);

  std::optional<HostCertificateRecord> FindCertificate(
      const std::string& serial_hex);
  // Revokes every certificate of `host` not expired at `now`; returns their
  // serial numbers (none if it had none left to revoke).
  absl::StatusOr<std::vector<std::string>> RevokeHost(const std::string& host,
                                                      absl::Time now);
  // When a certificate of `host` was last revoked (InfinitePast: never).
  absl::Time LastRevocation(const std::string& host);
  // The revoked certificates not expired at `now` (what the CRL lists), and
  // the next CRL number (increasing, kept across restarts).
  struct CrlContent {
    std::vector<std::pair<std::string, absl::Time>> revoked;
    int64_t number = 0;
  };
  absl::StatusOr<CrlContent> NextCrl(absl::Time now);

 private:
  explicit EnrollmentStore(sqlite3* db) : db_(db) {}

  absl::Mutex mutex_;
  sqlite3* const db_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ENROLL_ENROLLMENT_STORE_H_
