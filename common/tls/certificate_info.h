#ifndef OPSAGENT_COMMON_TLS_CERTIFICATE_INFO_H_
#define OPSAGENT_COMMON_TLS_CERTIFICATE_INFO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace opsagent {

// What opsagent uses from an X.509 certificate: who it names and when it is
// valid. Identities are only ever taken from certificates that TLS verified.
struct CertificateInfo {
  // Subject CN: the operator's or host's name.
  std::string common_name;
  // Subject OU values: the roles an operator certificate carries.
  std::vector<std::string> organizational_units;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  absl::Time not_before;
  absl::Time not_after;
};

// Parses the first certificate of a PEM text.
absl::StatusOr<CertificateInfo> ParseCertificatePem(absl::string_view pem);

// Reads and parses the first certificate of a PEM file.
absl::StatusOr<CertificateInfo> ReadCertificateFile(const std::string& path);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_CERTIFICATE_INFO_H_
