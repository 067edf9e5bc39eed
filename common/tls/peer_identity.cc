#include "common/tls/peer_identity.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/host_text.h"
#include "common/tls/certificate_info.h"
#include "grpc/grpc_security_constants.h"

namespace opsagent {
namespace {

constexpr size_t kMaxNameBytes = 256;

// A name that is logged, stored in journals and matched against rules must
// be plain text: a CN holding a newline would forge a line in the log.
absl::Status CheckName(absl::string_view what, absl::string_view name) {
  if (name.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the caller's certificate has an empty ", what));
  }
  if (name.size() > kMaxNameBytes) {
    return absl::UnauthenticatedError(absl::StrCat("the caller's certificate ",
                                                   what, " is longer than ",
                                                   kMaxNameBytes, " bytes"));
  }
  if (!IsPrintableText(name)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the caller's certificate ", what, " \"", TerminalSafe(name),
        "\" holds control characters or bytes that are not UTF-8; it is not "
        "accepted as an identity"));
  }
  return absl::OkStatus();
}

}  // namespace

bool PeerIdentity::IsAutomation() const {
  // "Automation" is the same role to a person reading a certificate: it
  // must not escape the read-only rule by its spelling.
  return std::any_of(roles.begin(), roles.end(), [](const std::string& role) {
    return absl::EqualsIgnoreCase(role, kAutomationRole);
  });
}

std::string PeerIdentity::ToString() const {
  if (roles.empty()) return name;
  return absl::StrCat(name, " (", absl::StrJoin(roles, ","), ")");
}

absl::StatusOr<PeerIdentity> PeerIdentityReader::Read(
    const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) {
    return absl::UnauthenticatedError(
        "the caller presented no verified client certificate");
  }
  std::vector<grpc::string_ref> pem =
      context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pem.empty()) {
    return absl::UnauthenticatedError(
        "the caller's certificate is not available");
  }
  return FromPem(absl::string_view(pem.front().data(), pem.front().size()));
}

absl::StatusOr<PeerIdentity> PeerIdentityReader::FromPem(
    absl::string_view pem) {
  {
    absl::MutexLock lock(&mutex_);
    auto known = known_.find(std::string(pem));
    if (known != known_.end()) return known->second;
  }
  absl::StatusOr<CertificateInfo> cert = ParseCertificatePem(pem);
  if (!cert.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the caller's certificate cannot be read: ", cert.status().message()));
  }
  if (cert->common_name.empty()) {
    return absl::UnauthenticatedError(
        "the caller's certificate has no common name");
  }
  if (absl::Status status = CheckName("common name", cert->common_name);
      !status.ok())
    return status;
  for (const std::string& role : cert->organizational_units) {
    if (absl::Status status = CheckName("OU (role)", role); !status.ok())
      return status;
  }
  // Operators and hosts are told apart by what their certificates are for,
  // so that an operator named like a host cannot pass as that host and a
  // host certificate cannot act as an operator.
  if (!cert->client_auth || cert->server_auth) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the certificate of \"", cert->common_name,
        "\" is not an operator certificate: it must have the extended key "
        "usage clientAuth and not serverAuth (",
        !cert->has_extended_key_usage ? "it has no extended key usage"
        : cert->server_auth           ? "it has serverAuth: a host or server "
                                        "certificate"
                                      : "it lacks clientAuth",
        ")"));
  }
  PeerIdentity identity{cert->common_name, cert->organizational_units};
  absl::MutexLock lock(&mutex_);
  if (known_.size() >= capacity_) known_.clear();
  known_.emplace(std::string(pem), identity);
  return identity;
}

}  // namespace opsagent
