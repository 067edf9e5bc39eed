// HostEnrollment's Controller RPCs (permission "enroll"): tokens, and the
// revocation of a host.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/host_text.h"
#include "common/json.h"
#include "common/tls/host_certificate.h"
#include "controller/enroll/audited_action.h"
#include "controller/enroll/enrollment_token.h"
#include "controller/enroll/host_enrollment.h"
#include "nlohmann/json.hpp"

namespace opsagent {
namespace {

constexpr size_t kMaxReason = 1024;

v1::AuditIntent IntentBy(const PeerIdentity& caller,
                         const v1::OperatorClaims& claims,
                         absl::string_view operation,
                         const std::string& reason) {
  v1::AuditIntent intent;
  intent.set_operation(std::string(operation));
  intent.set_cert_identity(caller.name);
  intent.set_os_user(claims.os_user());
  intent.set_os_uid(claims.os_uid());
  intent.set_sudo_user(claims.sudo_user());
  intent.set_reason(reason);
  intent.set_mutating(true);
  return intent;
}

absl::Status CheckReason(const std::string& reason, bool required) {
  if (required && reason.empty())
    return absl::InvalidArgumentError("give a reason (--reason)");
  if (reason.size() > kMaxReason || !IsPrintableText(reason))
    return absl::InvalidArgumentError(
        "the reason must be printable text of at most 1 KiB");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::EnrollmentTokenCreated> HostEnrollment::CreateToken(
    const PeerIdentity& caller, const v1::EnrollmentTokenRequest& request) {
  if (absl::Status valid = CheckTokenRequest(request, 2160 * 3600); !valid.ok())
    return valid;
  if (absl::Status reason = CheckReason(request.reason(), false); !reason.ok())
    return reason;
  absl::StatusOr<TokenText> text = NewTokenText();
  if (!text.ok()) return text.status();
  const absl::Time now = absl::Now();
  v1::EnrollmentToken token;
  token.set_id(text->id);
  *token.mutable_roles() = request.roles();
  token.set_environment(request.environment());
  *token.mutable_names() = request.names();
  token.set_uses(request.uses());
  token.set_certificate_seconds(request.certificate_seconds());
  token.set_created_at_ms(absl::ToUnixMillis(now));
  token.set_expires_at_ms(
      absl::ToUnixMillis(now + absl::Seconds(request.ttl_seconds())));
  token.set_created_by(caller.name);
  v1::AuditIntent intent = IntentBy(caller, request.claims(),
                                    "enroll_token_create", request.reason());
  intent.set_parameters_json(ProtoToJson(token));
  absl::StatusOr<int64_t> row =
      RunAudited(audit_, intent, [&]() -> absl::StatusOr<std::string> {
        if (absl::Status stored = store_->AddToken(token, text->SecretDigest());
            !stored.ok())
          return stored;
        return absl::StrCat(
            "token ", token.id(), " for ", token.uses(), " host(s) named ",
            absl::StrJoin(token.names(), ", "), " until ",
            absl::FormatTime(absl::FromUnixMillis(token.expires_at_ms())));
      });
  if (!row.ok()) return row.status();
  v1::EnrollmentTokenCreated created;
  *created.mutable_token() = token;
  created.set_secret(text->ToString());
  created.set_audit_id(*row);
  return created;
}

absl::StatusOr<v1::ListEnrollmentTokensReply> HostEnrollment::ListTokens(
    const v1::ListEnrollmentTokensRequest& request) {
  absl::StatusOr<std::vector<v1::EnrollmentToken>> tokens =
      store_->ListTokens(request.all(), absl::Now());
  if (!tokens.ok()) return tokens.status();
  v1::ListEnrollmentTokensReply reply;
  for (v1::EnrollmentToken& token : *tokens)
    *reply.add_tokens() = std::move(token);
  return reply;
}

absl::StatusOr<v1::EnrollmentToken> HostEnrollment::RevokeToken(
    const PeerIdentity& caller,
    const v1::RevokeEnrollmentTokenRequest& request) {
  if (request.id().empty() || request.id().size() > 64)
    return absl::InvalidArgumentError("give the token's id");
  if (absl::Status reason = CheckReason(request.reason(), false); !reason.ok())
    return reason;
  v1::AuditIntent intent = IntentBy(caller, request.claims(),
                                    "enroll_token_revoke", request.reason());
  nlohmann::ordered_json parameters;
  parameters["token"] = request.id();
  intent.set_parameters_json(DumpJson(parameters));
  v1::EnrollmentToken revoked;
  absl::StatusOr<int64_t> row =
      RunAudited(audit_, intent, [&]() -> absl::StatusOr<std::string> {
        absl::StatusOr<v1::EnrollmentToken> done =
            store_->RevokeToken(request.id(), caller.name, absl::Now());
        if (!done.ok()) return done.status();
        revoked = *std::move(done);
        return absl::StrCat("token ", revoked.id(), " revoked after ",
                            revoked.used(), " of ", revoked.uses(), " uses");
      });
  if (!row.ok()) return row.status();
  return revoked;
}

absl::StatusOr<v1::RevokeHostReply> HostEnrollment::RevokeHost(
    const PeerIdentity& caller, const v1::RevokeHostRequest& request) {
  if (!IsDnsHostName(request.host()))
    return absl::InvalidArgumentError("give the host's DNS name");
  if (absl::Status reason = CheckReason(request.reason(), true); !reason.ok())
    return reason;
  // Names are enrolled in lower case: "Web-2" is web-2.
  const std::string host = absl::AsciiStrToLower(request.host());
  v1::AuditIntent intent =
      IntentBy(caller, request.claims(), "host_revoke", request.reason());
  intent.set_host(host);
  v1::RevokeHostReply reply;
  absl::StatusOr<int64_t> row =
      RunAudited(audit_, intent, [&]() -> absl::StatusOr<std::string> {
        absl::StatusOr<std::vector<std::string>> serials =
            store_->RevokeHost(host, absl::Now());
        if (!serials.ok()) return serials.status();
        if (serials->empty())
          return absl::NotFoundError(absl::StrCat(
              "the host CA issued ", host,
              " no certificate that is still valid; one made by hand is "
              "revoked on the CRL of the CA that made it"));
        for (const std::string& serial : *serials) reply.add_serials(serial);
        reply.set_link_ended(
            options_.end_link &&
            options_.end_link(host, "its certificate was revoked"));
        std::string published = "the CRL lists them";
        if (absl::Status crl = crl_->Publish(); !crl.ok())
          published =
              absl::StrCat("the CRL could not be written yet (", crl.message(),
                           "): links are refused by "
                           "the controller's own check meanwhile");
        return absl::StrCat(
            "revoked ", serials->size(), " certificate(s) of ", host,
            reply.link_ended() ? ", its link ended; " : "; ", published);
      });
  if (!row.ok()) return row.status();
  reply.set_audit_id(*row);
  return reply;
}

}  // namespace opsagent
