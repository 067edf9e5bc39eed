#include "controller/enroll/host_enrollment.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "common/tls/host_certificate.h"
#include "controller/enroll/audited_action.h"
#include "controller/enroll/enrollment_token.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr size_t kMaxRequestBytes = 8192;
constexpr int kRefusalsPerMinute = 10;
constexpr size_t kMaxPendingRenewals = 10000;

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status out;
  out.set_code(static_cast<int>(status.code()));
  out.set_message(std::string(status.message()));
  return out;
}

}  // namespace

HostEnrollment::HostEnrollment(std::unique_ptr<HostCa> ca,
                               EnrollmentStore* store, AuditStore* audit,
                               CrlPublisher* crl, Options options)
    : ca_(std::move(ca)),
      store_(store),
      audit_(audit),
      crl_(crl),
      options_(std::move(options)),
      last_refusal_logged_(absl::InfinitePast()) {
  renewer_ = std::thread([this] { RunRenewals(); });
}

HostEnrollment::~HostEnrollment() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  renewer_.join();
}

int64_t HostEnrollment::refused_without_token() const {
  absl::MutexLock lock(&mutex_);
  return refused_without_token_;
}

absl::StatusOr<v1::EnrollReply> HostEnrollment::Enroll(
    const v1::EnrollRequest& request, const std::string& peer) {
  absl::StatusOr<v1::EnrollmentToken> token = [&] {
    absl::StatusOr<TokenText> text = ParseTokenText(request.token());
    if (!text.ok()) return absl::StatusOr<v1::EnrollmentToken>(text.status());
    return store_->FindToken(text->id, text->SecretDigest());
  }();
  if (!token.ok()) {
    // Anyone may knock: count it, log it now and then, write nothing else.
    absl::MutexLock lock(&mutex_);
    ++refused_without_token_;
    if (absl::Now() - last_refusal_logged_ > absl::Minutes(1)) {
      last_refusal_logged_ = absl::Now();
      spdlog::warn(
          "refused an enrollment from {}: {} ({} such refusals since start)",
          peer, std::string(token.status().message()), refused_without_token_);
    }
    return token.status();
  }
  if (!RefusalBudgetLeft(token->id()))
    return absl::ResourceExhaustedError(absl::StrCat(
        "enrollment token ", token->id(), " was refused ", kRefusalsPerMinute,
        " times in the last minute; try again later"));
  v1::AuditIntent intent;
  intent.set_operation("enroll");
  intent.set_cert_identity(absl::StrCat("token:", token->id()));
  intent.set_address(peer);
  intent.set_mutating(true);
  intent.set_host(IsDnsHostName(request.hostname()) ? request.hostname() : "-");
  nlohmann::ordered_json parameters;
  parameters["token"] = token->id();
  parameters["hostname"] = request.hostname().substr(0, 253);
  parameters["agent_version"] = request.agent_version().substr(0, 64);
  intent.set_parameters_json(DumpJson(parameters));
  const auto refused = [&](const absl::Status& why) {
    ChargeRefusal(token->id());
    spdlog::warn("refused the enrollment of \"{}\" with token {} from {}: {}",
                 absl::CHexEscape(request.hostname().substr(0, 253)),
                 token->id(), peer, std::string(why.message()));
    return why;
  };
  if (absl::Status checked = CheckEnrollment(request, *token); !checked.ok()) {
    RecordRefusal(audit_, intent, checked);
    return refused(checked);
  }
  v1::EnrollReply reply;
  absl::StatusOr<int64_t> row =
      RunAudited(audit_, intent, [&]() -> absl::StatusOr<std::string> {
        absl::StatusOr<v1::EnrollReply> enrolled =
            IssueAndRecord(request, *token);
        if (!enrolled.ok()) return enrolled.status();
        reply = *std::move(enrolled);
        return absl::StrCat(
            "enrolled ", request.hostname(), " (",
            absl::StrJoin(reply.roles(), ","), ") until ",
            absl::FormatTime(absl::FromUnixMillis(reply.not_after_unix_ms())));
      });
  if (!row.ok()) return refused(row.status());
  spdlog::info("enrolled {} with token {} from {}", request.hostname(),
               token->id(), peer);
  return reply;
}

bool HostEnrollment::RefusalBudgetLeft(const std::string& token_id) {
  absl::MutexLock lock(&mutex_);
  auto it = refusals_.find(token_id);
  return it == refusals_.end() ||
         absl::Now() - it->second.start >= absl::Minutes(1) ||
         it->second.count < kRefusalsPerMinute;
}

void HostEnrollment::ChargeRefusal(const std::string& token_id) {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = absl::Now();
  // Windows of tokens quiet for a minute go; the map holds the busy ones.
  for (auto it = refusals_.begin(); it != refusals_.end();) {
    auto stale = it++;
    if (now - stale->second.start >= absl::Minutes(1)) refusals_.erase(stale);
  }
  RefusalWindow& window = refusals_[token_id];
  if (window.count == 0) window.start = now;
  ++window.count;
}

absl::Status HostEnrollment::CheckEnrollment(const v1::EnrollRequest& request,
                                             const v1::EnrollmentToken& token) {
  const std::string& host = request.hostname();
  if (!IsDnsHostName(host))
    return absl::InvalidArgumentError(
        "the host name asked for is not a DNS host name");
  if (host != absl::AsciiStrToLower(host))
    return absl::InvalidArgumentError(
        absl::StrCat("host names are enrolled in lower case: ask for \"",
                     absl::AsciiStrToLower(host), "\""));
  if (request.csr_pem().size() > kMaxRequestBytes)
    return absl::InvalidArgumentError("the certificate request is too long");
  if (!HostNameAllowed(token.names(), host))
    return absl::PermissionDeniedError(
        absl::StrCat(host, " is not among the names token ", token.id(),
                     " may enroll (", absl::StrJoin(token.names(), ", "), ")"));
  if (absl::Status usable = CheckTokenUsable(token, absl::Now()); !usable.ok())
    return usable;
  if (const absl::Time revoked = store_->LastRevocation(host);
      revoked >= absl::FromUnixMillis(token.created_at_ms()))
    return absl::PermissionDeniedError(absl::StrCat(
        host, " was revoked at ", absl::FormatTime(revoked), ", after token ",
        token.id(),
        " was made: it enrolls again only with a token made since"));
  if (options_.connected && options_.connected(host))
    return absl::AlreadyExistsError(absl::StrCat(
        host,
        " is connected now: a name held by a live host is not given out "
        "again (if this host replaces it, `opsctl host revoke ",
        host, "` first)"));
  return absl::OkStatus();
}

absl::StatusOr<v1::EnrollReply> HostEnrollment::IssueAndRecord(
    const v1::EnrollRequest& request, const v1::EnrollmentToken& token) {
  const std::string& host = request.hostname();
  const absl::Time now = absl::Now();
  HostCertificateTemplate wanted;
  wanted.host = host;
  wanted.roles.assign(token.roles().begin(), token.roles().end());
  wanted.lifetime = token.certificate_seconds() > 0
                        ? absl::Seconds(token.certificate_seconds())
                        : options_.certificate_life;
  absl::StatusOr<IssuedCertificate> issued =
      ca_->Issue(request.csr_pem(), wanted);
  if (!issued.ok()) return issued.status();
  HostCertificateRecord record;
  record.host = host;
  record.roles = wanted.roles;
  record.environment = token.environment();
  record.token_id = token.id();
  record.life = wanted.lifetime;
  record.serial_hex = issued->serial_hex;
  record.not_after = issued->not_after;
  if (absl::Status stored = store_->RecordEnrollment(token.id(), record, now);
      !stored.ok())
    return stored;
  v1::EnrollReply reply;
  reply.set_certificate_pem(issued->chain_pem);
  for (const std::string& role : record.roles) reply.add_roles(role);
  reply.set_environment(record.environment);
  reply.set_not_after_unix_ms(absl::ToUnixMillis(issued->not_after));
  return reply;
}

absl::StatusOr<std::optional<HostCertificateRecord>>
HostEnrollment::CheckLinkCertificate(const std::string& serial_hex) {
  std::optional<HostCertificateRecord> record =
      store_->FindCertificate(serial_hex);
  if (record && record->revoked())
    return absl::PermissionDeniedError(absl::StrCat(
        "its certificate (serial ", serial_hex, ") was revoked at ",
        absl::FormatTime(record->revoked_at)));
  return record;
}

void HostEnrollment::RenewLater(
    std::string host, std::string serial_hex, std::string csr_pem,
    std::function<void(v1::CertificateRenewed)> done) {
  {
    absl::MutexLock lock(&mutex_);
    if (!stopping_ && renewals_.size() < kMaxPendingRenewals) {
      renewals_.push_back({std::move(host), std::move(serial_hex),
                           std::move(csr_pem), std::move(done)});
      return;
    }
  }
  v1::CertificateRenewed busy;
  *busy.mutable_status() = ToRpcStatus(absl::UnavailableError(
      "the controller has too many renewals waiting; try again later"));
  done(std::move(busy));
}

void HostEnrollment::RunRenewals() {
  while (true) {
    Renewal next;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](HostEnrollment* self)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
                 return self->stopping_ || !self->renewals_.empty();
               },
          this));
      if (stopping_) return;
      next = std::move(renewals_.front());
      renewals_.pop_front();
    }
    next.done(Renew(next.host, next.serial_hex, next.csr_pem));
  }
}

v1::CertificateRenewed HostEnrollment::Renew(const std::string& host,
                                             const std::string& serial_hex,
                                             const std::string& csr_pem) {
  v1::CertificateRenewed renewed;
  // Before half of its life a certificate is not renewed, and the refusal
  // is not written: a host asking again and again cannot fill the log.
  if (std::optional<HostCertificateRecord> current =
          store_->FindCertificate(serial_hex);
      current && !current->revoked() && current->host == host &&
      absl::Now() < current->not_after - current->life / 2) {
    *renewed.mutable_status() =
        ToRpcStatus(absl::FailedPreconditionError(absl::StrCat(
            "too early: a certificate is renewed once half of its "
            "life has passed (after ",
            absl::FormatTime(current->not_after - current->life / 2), ")")));
    return renewed;
  }
  v1::AuditIntent intent;
  intent.set_operation("renew_certificate");
  intent.set_cert_identity(host);
  intent.set_host(host);
  intent.set_mutating(true);
  nlohmann::ordered_json parameters;
  parameters["serial"] = serial_hex;
  intent.set_parameters_json(DumpJson(parameters));
  absl::StatusOr<int64_t> row =
      RunAudited(audit_, intent, [&]() -> absl::StatusOr<std::string> {
        std::optional<HostCertificateRecord> current =
            store_->FindCertificate(serial_hex);
        if (!current || current->host != host)
          return absl::PermissionDeniedError(
              "this link's certificate was not issued by the controller's "
              "host CA (a certificate made by hand is renewed by hand)");
        if (current->revoked())
          return absl::PermissionDeniedError("its certificate was revoked");
        if (csr_pem.size() > kMaxRequestBytes)
          return absl::InvalidArgumentError(
              "the certificate request is too long");
        HostCertificateTemplate wanted;
        wanted.host = host;
        wanted.roles = current->roles;
        wanted.lifetime = current->life;
        absl::StatusOr<IssuedCertificate> issued = ca_->Issue(csr_pem, wanted);
        if (!issued.ok()) return issued.status();
        HostCertificateRecord record = *current;
        record.serial_hex = issued->serial_hex;
        record.not_after = issued->not_after;
        if (absl::Status stored = store_->RecordRenewal(serial_hex, record);
            !stored.ok())
          return stored;
        renewed.set_certificate_pem(issued->chain_pem);
        renewed.set_not_after_unix_ms(absl::ToUnixMillis(issued->not_after));
        return absl::StrCat("renewed ", host, "'s certificate ", serial_hex,
                            " as ", issued->serial_hex, " until ",
                            absl::FormatTime(issued->not_after));
      });
  if (!row.ok()) {
    spdlog::warn("refused to renew the certificate of {}: {}", host,
                 std::string(row.status().message()));
    renewed.clear_certificate_pem();
    *renewed.mutable_status() = ToRpcStatus(row.status());
  }
  return renewed;
}

}  // namespace opsagent
