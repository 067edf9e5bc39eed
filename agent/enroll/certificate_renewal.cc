#include "agent/enroll/certificate_renewal.h"

#include "absl/strings/str_cat.h"
#include "agent/enroll/host_certificate_files.h"
#include "common/tls/certificate_info.h"
#include "common/tls/certificate_request.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// A request not answered within this is given up (a new one is made).
constexpr absl::Duration kAnswerWait = absl::Minutes(1);
// After a refusal or a failure.
constexpr absl::Duration kRetry = absl::Minutes(1);

}  // namespace

absl::StatusOr<absl::Time> CertificateRenewal::RenewalTime() const {
  absl::StatusOr<CertificateInfo> cert =
      ReadCertificateFile(config_.tls().certificate());
  if (!cert.ok()) return cert.status();
  return cert->not_before + (cert->not_after - cert->not_before) * 2 / 3;
}

std::optional<v1::AgentMessage> CertificateRenewal::Due(absl::Time now) {
  absl::MutexLock lock(&mutex_);
  if (now < not_before_) return std::nullopt;
  if (!pending_key_.empty() && now - sent_at_ < kAnswerWait)
    return std::nullopt;
  absl::StatusOr<absl::Time> due = RenewalTime();
  if (!due.ok()) {
    spdlog::error("cannot read this host's certificate to renew it: {}",
                  std::string(due.status().message()));
    not_before_ = now + kRetry;
    return std::nullopt;
  }
  if (now < *due) return std::nullopt;
  absl::StatusOr<KeyAndRequest> made =
      MakeHostKeyAndRequest(config_.hostname());
  if (!made.ok()) {
    spdlog::error("cannot make a key to renew this host's certificate: {}",
                  std::string(made.status().message()));
    not_before_ = now + kRetry;
    return std::nullopt;
  }
  pending_key_ = std::move(made->private_key_pem);
  sent_at_ = now;
  v1::AgentMessage message;
  message.mutable_renew()->set_csr_pem(made->request_pem);
  spdlog::info("asking the controller to renew this host's certificate");
  return message;
}

absl::Status CertificateRenewal::Finish(const v1::CertificateRenewed& answer,
                                        absl::Time now) {
  absl::MutexLock lock(&mutex_);
  const std::string key = std::move(pending_key_);
  pending_key_.clear();
  if (key.empty())
    return absl::FailedPreconditionError(
        "the controller sent a certificate this agent did not ask for");
  absl::Status installed =
      answer.status().code() != 0
          ? absl::Status(static_cast<absl::StatusCode>(answer.status().code()),
                         absl::StrCat("the controller refused to renew: ",
                                      answer.status().message()))
          : InstallHostCertificate(config_, key, answer.certificate_pem());
  if (!installed.ok()) {
    not_before_ = now + kRetry;
    return installed;
  }
  spdlog::info(
      "renewed this host's certificate, valid until {}",
      absl::FormatTime(absl::FromUnixMillis(answer.not_after_unix_ms())));
  return absl::OkStatus();
}

}  // namespace opsagent
