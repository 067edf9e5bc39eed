#include "controller/enroll/host_ca.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/host_text.h"
#include "common/regular_file.h"
#include "common/signing/evp_key.h"
#include "common/status_macros.h"
#include "common/tls/certificate_info.h"
#include "common/tls/host_certificate.h"
#include "common/tls/openssl_ptr.h"
#include "common/tls/pem_text.h"
#include "common/trusted_path.h"

namespace opsagent {
namespace {

// Files this large are not a certificate or a key.
constexpr size_t kMaxPemBytes = 1 << 20;
// RFC 5280's upper bounds for an organizational unit and a common name.
constexpr size_t kMaxNameBytes = 64;
// How far back notBefore goes, for hosts whose clocks run behind: 5
// minutes, or a tenth of a short life (which hosts renew at two thirds of
// notBefore..notAfter, so a long backdate would make them renew at once).
constexpr absl::Duration kClockSkew = absl::Minutes(5);

UniqueBio MemoryBio(absl::string_view text) {
  return UniqueBio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// OpenSSL asks for a passphrase on the terminal unless told there is none.
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::Time ToAbslTime(const ASN1_TIME* time) {
  struct tm parts = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1)
    return absl::InfinitePast();
  return absl::FromTimeT(timegm(&parts));
}

UniqueAsn1Time ToAsn1Time(absl::Time time) {
  return UniqueAsn1Time(ASN1_TIME_set(nullptr, absl::ToTimeT(time)));
}

std::string SubjectText(X509* cert) {
  char buffer[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buffer, sizeof(buffer));
  return buffer;
}

// The DNS names of the certificate's permitted subtrees, as written.
absl::StatusOr<std::vector<std::string>> PermittedDomains(
    X509* cert, const std::string& file) {
  OpenSslPtr<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free> constraints(
      static_cast<NAME_CONSTRAINTS*>(
          X509_get_ext_d2i(cert, NID_name_constraints, nullptr, nullptr)));
  std::vector<std::string> domains;
  if (constraints && constraints->permittedSubtrees != nullptr) {
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees);
         ++i) {
      const GENERAL_SUBTREE* subtree =
          sk_GENERAL_SUBTREE_value(constraints->permittedSubtrees, i);
      if (subtree->base->type != GEN_DNS) continue;
      const ASN1_IA5STRING* dns = subtree->base->d.dNSName;
      domains.emplace_back(reinterpret_cast<const char*>(dns->data),
                           dns->length);
      // An empty DNS subtree permits every name: no limit at all.
      if (domains.back().empty() || domains.back() == ".") {
        return absl::FailedPreconditionError(absl::StrCat(
            file,
            " permits every DNS name (an empty permitted subtree); a host CA "
            "must be limited to the fleet's domain"));
      }
    }
  }
  ERR_clear_error();
  if (domains.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        file,
        " has no nameConstraints with a permitted DNS subtree; a host CA "
        "must be limited to the fleet's domain (make-dev-pki.sh host-ca "
        "DOMAIN makes one)"));
  }
  return domains;
}

// The checks Load makes of the certificate itself.
absl::Status CheckHostCaCertificate(X509* cert, const std::string& file) {
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_CA) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(file, " (", SubjectText(cert),
                     ") is not a CA certificate (basicConstraints CA:TRUE)"));
  }
  const uint32_t usage = X509_get_key_usage(cert);
  if (usage == UINT32_MAX || (usage & KU_KEY_CERT_SIGN) == 0 ||
      (usage & KU_CRL_SIGN) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(file, " lacks keyUsage keyCertSign and cRLSign"));
  }
  if (X509_get_pathlen(cert) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        file,
        " has no pathLenConstraint 0 (basicConstraints pathlen:0): a host CA "
        "must not be able to make further CAs"));
  }
  const absl::Time not_after = ToAbslTime(X509_get0_notAfter(cert));
  if (not_after <= absl::Now()) {
    return absl::FailedPreconditionError(
        absl::StrCat(file, " expired at ",
                     absl::FormatTime(not_after, absl::UTCTimeZone())));
  }
  return absl::OkStatus();
}

// Whether `host` lies inside `domain`: ".fleet.example" permits its
// subdomains, "fleet.example" the name itself and its subdomains, as
// OpenSSL's name constraint check has it (RFC 5280 4.2.1.10).
bool InsideDomain(absl::string_view host, absl::string_view domain) {
  if (absl::StartsWith(domain, "."))
    return host.size() > domain.size() &&
           absl::EndsWithIgnoreCase(host, domain);
  return absl::EqualsIgnoreCase(host, domain) ||
         absl::EndsWithIgnoreCase(host, absl::StrCat(".", domain));
}

// The request's key must be one hosts are expected to make.
absl::Status CheckRequestKey(EVP_PKEY* key) {
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_EC) {
    char group[64] = "";
    size_t length = 0;
    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                   sizeof(group), &length);
    int curve = OBJ_txt2nid(group);
    if (curve == NID_undef) curve = EC_curve_nist2nid(group);
    // The curve by name, as TLS peers expect it: explicit parameters
    // (RFC 5480 forbids them in certificates) are refused even for P-256.
    char encoding[32] = "";
    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
                                   sizeof(encoding), &length);
    const bool named = absl::string_view(encoding) == "named_curve";
    if (named && (curve == NID_X9_62_prime256v1 || curve == NID_secp384r1))
      return absl::OkStatus();
    ERR_clear_error();
    if (!named)
      return absl::InvalidArgumentError(
          "the request's EC key spells out its curve's parameters; a host key "
          "names its curve (P-256 or P-384)");
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "the request's key is EC on curve ", group[0] ? group : "(unnamed)",
        "; a host key must be EC P-256 or P-384, or RSA of at least 2048 "
        "bits"));
  }
  if (type == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key) >= 2048) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "the request's key is RSA of ", EVP_PKEY_get_bits(key),
        " bits; a host key must be RSA of at least 2048 bits, or EC P-256 or "
        "P-384"));
  }
  const char* name = EVP_PKEY_get0_type_name(key);
  return absl::InvalidArgumentError(absl::StrCat(
      "the request's key is ", name ? name : "of an unknown type",
      "; a host key must be EC P-256 or P-384, or RSA of at least 2048 bits"));
}

// A subject attribute value: what PeerIdentity and the logs accept.
absl::Status CheckNameValue(absl::string_view what, absl::string_view value) {
  if (value.empty() || value.size() > kMaxNameBytes ||
      !IsPrintableText(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " \"", TerminalSafe(value.substr(0, 2 * kMaxNameBytes)),
        "\" must be printable text of 1 to ", kMaxNameBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status AddName(X509_NAME* name, const char* field,
                     absl::string_view value) {
  if (X509_NAME_add_entry_by_txt(
          name, field, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(value.data()),
          static_cast<int>(value.size()), -1, 0) != 1) {
    return OpenSslError(absl::StrCat("set the subject's ", field));
  }
  return absl::OkStatus();
}

// Adds an extension written as in openssl.cnf; `crl` when it is a CRL's.
absl::Status AddExtension(X509* issuer, X509* cert, X509_CRL* crl, int nid,
                          const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, crl, 0);
  X509_EXTENSION* extension =
      X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  const bool added =
      extension != nullptr && (crl ? X509_CRL_add_ext(crl, extension, -1)
                                   : X509_add_ext(cert, extension, -1)) == 1;
  X509_EXTENSION_free(extension);
  if (!added) return OpenSslError(absl::StrCat("add the extension ", value));
  return absl::OkStatus();
}

// A random positive serial of 128 bits (RFC 5280 allows up to 20 bytes).
absl::StatusOr<UniqueBignum> RandomSerial() {
  UniqueBignum serial(BN_new());
  if (!serial) return OpenSslError("make a serial number");
  do {
    if (BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
      return OpenSslError("make a serial number");
  } while (BN_is_zero(serial.get()));
  return serial;
}

}  // namespace

struct HostCa::Keys {
  UniqueX509 certificate;
  UniqueEvpKey key;
};

HostCa::~HostCa() = default;

absl::StatusOr<std::unique_ptr<HostCa>> HostCa::Load(
    const std::string& certificate_file, const std::string& key_file) {
  RETURN_IF_ERROR(CheckTrustedPath(certificate_file, TrustedKind::kFile));
  ASSIGN_OR_RETURN(std::string certificate_pem,
                   ReadRegularFile(certificate_file, kMaxPemBytes));
  ASSIGN_OR_RETURN(std::string key_pem, ReadSecretFile(key_file, kMaxPemBytes));
  std::unique_ptr<HostCa> ca(new HostCa());
  ca->keys_ = std::make_unique<Keys>();
  ca->keys_->certificate.reset(PEM_read_bio_X509(
      MemoryBio(certificate_pem).get(), nullptr, NoPassphrase, nullptr));
  ca->keys_->key.reset(PEM_read_bio_PrivateKey(MemoryBio(key_pem).get(),
                                               nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  X509* certificate = ca->keys_->certificate.get();
  if (certificate == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(certificate_file, ": no PEM certificate found"));
  }
  if (!ca->keys_->key) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_file, ": no unencrypted PEM private key found"));
  }
  if (X509_check_private_key(certificate, ca->keys_->key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(key_file, " is not the key of ", certificate_file));
  }
  RETURN_IF_ERROR(CheckHostCaCertificate(certificate, certificate_file));
  ASSIGN_OR_RETURN(ca->permitted_domains_,
                   PermittedDomains(certificate, certificate_file));
  ASSIGN_OR_RETURN(ca->certificate_pem_,
                   PemText("encode the CA certificate", [&](BIO* bio) {
                     return PEM_write_bio_X509(bio, certificate);
                   }));
  ca->not_after_ = ToAbslTime(X509_get0_notAfter(certificate));
  return ca;
}

absl::StatusOr<IssuedCertificate> HostCa::Issue(
    absl::string_view request_pem, const HostCertificateTemplate& tmpl) const {
  if (!IsDnsHostName(tmpl.host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", TerminalSafe(tmpl.host.substr(0, 256)),
                     "\" is not a DNS host name"));
  }
  if (std::none_of(permitted_domains_.begin(), permitted_domains_.end(),
                   [&](const std::string& domain) {
                     return InsideDomain(tmpl.host, domain);
                   })) {
    return absl::InvalidArgumentError(absl::StrCat(
        tmpl.host, " is outside the domain(s) this host CA may issue for (",
        absl::StrJoin(permitted_domains_, ", "), ")"));
  }
  if (tmpl.host != absl::AsciiStrToLower(tmpl.host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "host names are certified in lower case (\"",
        absl::AsciiStrToLower(tmpl.host), "\"): one name, one holder"));
  }
  for (const std::string& role : tmpl.roles) {
    RETURN_IF_ERROR(CheckNameValue("the role", role));
    // The controller's own role: agents and opsctl accept a server as the
    // controller by it. A host CA never hands it out.
    if (absl::EqualsIgnoreCase(role, "controller"))
      return absl::InvalidArgumentError(
          "a host certificate cannot carry the role \"controller\"");
  }
  if (tmpl.lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate lifetime must be positive, not ",
                     absl::FormatDuration(tmpl.lifetime)));
  }

  UniqueRequest request(PEM_read_bio_X509_REQ(MemoryBio(request_pem).get(),
                                              nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (!request) {
    return absl::InvalidArgumentError(
        "the request is not a PEM certificate signing request");
  }
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(request.get());
  if (public_key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "the request's public key cannot be read");
  }
  RETURN_IF_ERROR(CheckRequestKey(public_key));
  if (X509_REQ_verify(request.get(), public_key) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "the request's signature does not verify with its own key, so its "
        "sender has not shown it holds the private key");
  }

  const absl::Time now =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  IssuedCertificate issued;
  issued.not_before =
      now -
      absl::Trunc(std::min(kClockSkew, tmpl.lifetime / 10), absl::Seconds(1));
  issued.not_after =
      std::min(now + absl::Trunc(tmpl.lifetime, absl::Seconds(1)), not_after_);
  X509* ca = keys_->certificate.get();
  UniqueX509 cert(X509_new());
  ASSIGN_OR_RETURN(UniqueBignum serial, RandomSerial());
  UniqueAsn1Time not_before = ToAsn1Time(issued.not_before);
  UniqueAsn1Time not_after = ToAsn1Time(issued.not_after);
  if (!cert || !not_before || !not_after ||
      X509_set_version(cert.get(), 2) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ==
          nullptr ||
      X509_set1_notBefore(cert.get(), not_before.get()) != 1 ||
      X509_set1_notAfter(cert.get(), not_after.get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)) != 1 ||
      X509_set_pubkey(cert.get(), public_key) != 1) {
    return OpenSslError("build a host certificate");
  }
  issued.serial_hex = SerialHex(serial.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  RETURN_IF_ERROR(AddName(subject, "O", "opsagent"));
  for (const std::string& role : tmpl.roles)
    RETURN_IF_ERROR(AddName(subject, "OU", role));
  // A CN holds 64 bytes; longer DNS names are in the SAN alone, which is
  // all that names a host.
  if (tmpl.host.size() <= kMaxNameBytes)
    RETURN_IF_ERROR(AddName(subject, "CN", tmpl.host));
  const bool rsa = EVP_PKEY_get_base_id(public_key) == EVP_PKEY_RSA;
  const std::pair<int, std::string> extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, rsa ? "critical,digitalSignature,keyEncipherment"
                          : "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      // IsDnsHostName admits no "," or ":" that could add another name.
      {NID_subject_alt_name, absl::StrCat("DNS:", tmpl.host)},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid"},
  };
  for (const auto& [nid, value] : extensions)
    RETURN_IF_ERROR(AddExtension(ca, cert.get(), nullptr, nid, value));
  if (X509_sign(cert.get(), keys_->key.get(), EVP_sha256()) <= 0)
    return OpenSslError("sign a host certificate");
  ASSIGN_OR_RETURN(issued.certificate_pem,
                   PemText("encode a host certificate", [&](BIO* bio) {
                     return PEM_write_bio_X509(bio, cert.get());
                   }));
  issued.chain_pem = absl::StrCat(issued.certificate_pem, certificate_pem_);
  return issued;
}

absl::StatusOr<std::string> HostCa::MakeCrl(
    const std::vector<RevokedCertificate>& revoked, int64_t number,
    absl::Time this_update, absl::Time next_update) const {
  if (number < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a CRL number must not be negative, not ", number));
  }
  if (next_update <= this_update) {
    return absl::InvalidArgumentError(
        absl::StrCat("a CRL's nextUpdate (", absl::FormatTime(next_update),
                     ") must come after its lastUpdate (",
                     absl::FormatTime(this_update), ")"));
  }
  X509* ca = keys_->certificate.get();
  UniqueCrl crl(X509_CRL_new());
  UniqueAsn1Time last = ToAsn1Time(this_update);
  UniqueAsn1Time next = ToAsn1Time(next_update);
  if (!crl || !last || !next || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return OpenSslError("build a CRL");
  }
  for (const RevokedCertificate& entry : revoked) {
    BIGNUM* parsed = nullptr;
    const bool hex = !entry.serial_hex.empty() &&
                     entry.serial_hex.size() <= 40 &&
                     std::all_of(entry.serial_hex.begin(),
                                 entry.serial_hex.end(), absl::ascii_isxdigit);
    if (!hex || BN_hex2bn(&parsed, entry.serial_hex.c_str()) !=
                    static_cast<int>(entry.serial_hex.size())) {
      BN_free(parsed);
      return absl::InvalidArgumentError(
          absl::StrCat("\"", absl::CHexEscape(entry.serial_hex.substr(0, 64)),
                       "\" is not a serial number in hex"));
    }
    UniqueBignum serial(parsed);
    UniqueAsn1Integer integer(BN_to_ASN1_INTEGER(serial.get(), nullptr));
    UniqueAsn1Time when = ToAsn1Time(entry.revoked_at);
    X509_REVOKED* item = X509_REVOKED_new();
    if (!integer || !when || item == nullptr ||
        X509_REVOKED_set_serialNumber(item, integer.get()) != 1 ||
        X509_REVOKED_set_revocationDate(item, when.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), item) != 1) {
      X509_REVOKED_free(item);
      return OpenSslError("add a revoked certificate to a CRL");
    }
  }
  UniqueAsn1Integer crl_number(ASN1_INTEGER_new());
  if (!crl_number || ASN1_INTEGER_set_int64(crl_number.get(), number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, crl_number.get(), 0,
                            0) != 1) {
    return OpenSslError("set a CRL's number");
  }
  RETURN_IF_ERROR(AddExtension(ca, nullptr, crl.get(),
                               NID_authority_key_identifier, "keyid"));
  if (X509_CRL_sort(crl.get()) != 1 ||
      X509_CRL_sign(crl.get(), keys_->key.get(), EVP_sha256()) <= 0) {
    return OpenSslError("sign a CRL");
  }
  return PemText("encode a CRL", [&](BIO* bio) {
    return PEM_write_bio_X509_CRL(bio, crl.get());
  });
}

}  // namespace opsagent
