#include "common/tls/host_certificate.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace opsagent {
namespace {

bool DnsNameMatches(absl::string_view pattern, absl::string_view host) {
  if (absl::EqualsIgnoreCase(pattern, host)) return true;
  if (!absl::StartsWith(pattern, "*.")) return false;
  const size_t dot = host.find('.');
  if (dot == absl::string_view::npos || dot == 0) return false;
  return absl::EqualsIgnoreCase(pattern.substr(1), host.substr(dot));
}

}  // namespace

bool IsDnsHostName(absl::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' ||
        label.back() == '-')
      return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-')
        return false;
    }
  }
  return true;
}

absl::Status CheckHostCertificate(const CertificateInfo& cert,
                                  absl::string_view host) {
  if (!IsDnsHostName(host)) {
    return absl::UnauthenticatedError(
        absl::StrCat("\"", absl::CHexEscape(host.substr(0, 64)),
                     "\" is not a DNS host name"));
  }
  if (!cert.server_auth) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the certificate presented by ", host,
        " is not a host certificate (extended key usage serverAuth ",
        cert.has_extended_key_usage ? "missing" : "absent: no extension", ")"));
  }
  if (cert.dns_names.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the certificate presented by ", host,
                     " has no DNS subjectAltName (its CN \"", cert.common_name,
                     "\" is not accepted as a host name)"));
  }
  for (const std::string& name : cert.dns_names) {
    if (DnsNameMatches(name, host)) return absl::OkStatus();
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "the certificate presented by ", host, " names other hosts (",
      absl::StrJoin(cert.dns_names, ", "), ")"));
}

}  // namespace opsagent
