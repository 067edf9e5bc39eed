#ifndef OPSAGENT_COMMON_TLS_CERTIFICATE_INFO_H_
#define OPSAGENT_COMMON_TLS_CERTIFICATE_INFO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

typedef struct bignum_st BIGNUM;

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
  // The serial number in lower-case hex without leading zeros (SerialHex).
  std::string serial_hex;
  absl::Time not_before;
  absl::Time not_after;
  // Extended key usage. Without the extension a certificate may be used for
  // anything (RFC 5280); opsagent requires it: serverAuth for agents and the
  // controller, clientAuth for operators.
  bool has_extended_key_usage = false;
  bool server_auth = false;
  bool client_auth = false;
};

// A certificate serial number as opsagent writes it everywhere (the host
// CA's records, links, CRL entries): lower-case hex without leading zeros.
// OpenSSL's BN_bn2hex writes whole bytes, so a leading "0" one time in 16.
std::string SerialHex(const BIGNUM* serial);

// Parses the first certificate of a PEM text. Fails when a name in it cannot
// be read as UTF-8.
absl::StatusOr<CertificateInfo> ParseCertificatePem(absl::string_view pem);

// Reads and parses the first certificate of a PEM file.
absl::StatusOr<CertificateInfo> ReadCertificateFile(const std::string& path);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_CERTIFICATE_INFO_H_
