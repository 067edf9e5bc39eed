#include "common/tls/peer_identity.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/tls/certificate_info.h"
#include "grpc/grpc_security_constants.h"

namespace opsagent {

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
  PeerIdentity identity{cert->common_name, cert->organizational_units};
  absl::MutexLock lock(&mutex_);
  if (known_.size() >= capacity_) known_.clear();
  known_.emplace(std::string(pem), identity);
  return identity;
}

}  // namespace opsagent
