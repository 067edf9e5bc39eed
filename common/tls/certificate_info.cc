#include "common/tls/certificate_info.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace opsagent {
namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};

absl::StatusOr<std::string> Asn1String(const ASN1_STRING* value) {
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, value);
  if (length < 0)
    return absl::InvalidArgumentError("a name in it is not valid text");
  std::string text(reinterpret_cast<char*>(utf8), length);
  OPENSSL_free(utf8);
  return text;
}

absl::Time Asn1Time(const ASN1_TIME* value) {
  struct tm parts = {};
  if (ASN1_TIME_to_tm(value, &parts) != 1) return absl::InfinitePast();
  return absl::FromTimeT(timegm(&parts));
}

absl::StatusOr<std::vector<std::string>> SubjectEntries(X509_NAME* name,
                                                        int nid) {
  std::vector<std::string> values;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    absl::StatusOr<std::string> value =
        Asn1String(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (!value.ok()) return value.status();
    values.push_back(*std::move(value));
  }
  return values;
}

std::string IpAddressText(const ASN1_OCTET_STRING* ip) {
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  int length = ASN1_STRING_length(ip);
  if (length == 4)
    return absl::StrFormat("%d.%d.%d.%d", bytes[0], bytes[1], bytes[2],
                           bytes[3]);
  std::string text;
  for (int i = 0; i + 1 < length; i += 2) {
    absl::StrAppendFormat(&text, "%s%x", i ? ":" : "",
                          (bytes[i] << 8) | bytes[i + 1]);
  }
  return text;
}

}  // namespace

std::string SerialHex(const BIGNUM* serial) {
  char* hex = BN_bn2hex(serial);
  std::string out = absl::AsciiStrToLower(hex ? hex : "");
  OPENSSL_free(hex);
  const size_t first = out.find_first_not_of('0');
  return first == std::string::npos ? "0" : out.substr(first);
}

absl::StatusOr<CertificateInfo> ParseCertificatePem(absl::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Deleter> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::InvalidArgumentError("no PEM certificate found");

  CertificateInfo info;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  absl::StatusOr<std::vector<std::string>> cns =
      SubjectEntries(subject, NID_commonName);
  if (!cns.ok()) return cns.status();
  if (!cns->empty()) info.common_name = cns->front();
  absl::StatusOr<std::vector<std::string>> ous =
      SubjectEntries(subject, NID_organizationalUnitName);
  if (!ous.ok()) return ous.status();
  info.organizational_units = *std::move(ous);
  const uint32_t usage = X509_get_extended_key_usage(cert.get());
  info.has_extended_key_usage = usage != UINT32_MAX;
  info.server_auth = info.has_extended_key_usage && (usage & XKU_SSL_SERVER);
  info.client_auth = info.has_extended_key_usage && (usage & XKU_SSL_CLIENT);
  if (BIGNUM* serial =
          ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr)) {
    info.serial_hex = SerialHex(serial);
    BN_free(serial);
  }
  info.not_before = Asn1Time(X509_get0_notBefore(cert.get()));
  info.not_after = Asn1Time(X509_get0_notAfter(cert.get()));

  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(
          cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      absl::StatusOr<std::string> dns = Asn1String(name->d.dNSName);
      if (!dns.ok()) return dns.status();
      info.dns_names.push_back(*std::move(dns));
    }
    if (name->type == GEN_IPADD)
      info.ip_addresses.push_back(IpAddressText(name->d.iPAddress));
  }
  return info;
}

absl::StatusOr<CertificateInfo> ReadCertificateFile(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(text.str());
  if (!info.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", info.status().message()));
  return info;
}

}  // namespace opsagent
