#include "controller/audit/journal_check.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/signing/result_signature.h"
#include "common/tls/certificate_info.h"
#include "common/tls/host_certificate.h"

namespace opsagent {

absl::StatusOr<v1::JournalReply> CheckHostJournal(
    const std::string& host, absl::string_view request_id,
    absl::string_view reply_bytes, absl::string_view result_sha256,
    absl::string_view signature, const ChainVerifier& ca) {
  v1::JournalReply reply;
  if (!reply.ParseFromString(std::string(reply_bytes)))
    return absl::DataLossError("its journal did not come back whole");
  // The file may hold the host CA after the host's own (an enrolled host).
  if (absl::Status chain = ca.Verify(reply.agent_certificate_pem(),
                                     reply.agent_certificate_pem(),
                                     ChainVerifier::Purpose::kServer);
      !chain.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the certificate it sent is not one our CA issued: ", chain.message()));
  }
  absl::StatusOr<CertificateInfo> info =
      ParseCertificatePem(reply.agent_certificate_pem());
  if (!info.ok()) return info.status();
  if (absl::Status named = CheckHostCertificate(*info, host); !named.ok())
    return absl::DataLossError(named.message());
  const std::string digest = ResultSha256(host, request_id, 0, reply_bytes);
  if (digest != result_sha256) {
    return absl::DataLossError(
        "its journal is not what the agent signed (changed on the way)");
  }
  if (absl::Status signed_by_host =
          VerifyResult(reply.agent_certificate_pem(), digest, signature);
      !signed_by_host.ok())
    return absl::DataLossError(
        absl::StrCat("its journal: ", signed_by_host.message()));
  return reply;
}

std::string HostSigningCertificates(const v1::JournalReply& reply,
                                    const std::string& host,
                                    const ChainVerifier& ca) {
  std::string bundle = reply.agent_certificate_pem();
  for (const std::string& earlier : reply.earlier_certificate_pem()) {
    absl::StatusOr<CertificateInfo> info = ParseCertificatePem(earlier);
    if (!info.ok() || !CheckHostCertificate(*info, host).ok()) continue;
    // Chained through the host CA the current certificate file carries.
    if (!ca.VerifyIssuance(earlier, reply.agent_certificate_pem(),
                           ChainVerifier::Purpose::kServer)
             .ok())
      continue;
    absl::StrAppend(&bundle, "\n", earlier, "\n");
  }
  return bundle;
}

}  // namespace opsagent
