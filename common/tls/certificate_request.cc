#include "common/tls/certificate_request.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/signing/evp_key.h"
#include "common/status_macros.h"
#include "common/tls/host_certificate.h"
#include "common/tls/openssl_ptr.h"
#include "common/tls/pem_text.h"

namespace opsagent {
namespace {

struct ExtensionsFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};

}  // namespace

absl::StatusOr<KeyAndRequest> MakeHostKeyAndRequest(absl::string_view host) {
  if (!IsDnsHostName(host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(host.substr(0, 64)),
                     "\" is not a DNS host name, so no certificate can be "
                     "requested for it"));
  }
  const std::string name(host);
  UniqueEvpKey key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("make an EC P-256 key");
  UniqueRequest request(X509_REQ_new());
  if (!request || X509_REQ_set_version(request.get(), 0) != 1 ||
      X509_NAME_add_entry_by_txt(
          X509_REQ_get_subject_name(request.get()), "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1,
          0) != 1 ||
      X509_REQ_set_pubkey(request.get(), key.get()) != 1) {
    return OpenSslError("build a certificate request");
  }
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionsFree> extensions(
      sk_X509_EXTENSION_new_null());
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                          absl::StrCat("DNS:", name).c_str());
  if (!extensions || san == nullptr ||
      sk_X509_EXTENSION_push(extensions.get(), san) == 0) {
    X509_EXTENSION_free(san);
    return OpenSslError("add the subjectAltName to a certificate request");
  }
  if (X509_REQ_add_extensions(request.get(), extensions.get()) != 1 ||
      X509_REQ_sign(request.get(), key.get(), EVP_sha256()) <= 0) {
    return OpenSslError("sign a certificate request");
  }
  KeyAndRequest out;
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY").
  ASSIGN_OR_RETURN(out.private_key_pem,
                   PemText("encode a private key", [&](BIO* bio) {
                     return PEM_write_bio_PrivateKey(
                         bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
                   }));
  ASSIGN_OR_RETURN(out.request_pem,
                   PemText("encode a certificate request", [&](BIO* bio) {
                     return PEM_write_bio_X509_REQ(bio, request.get());
                   }));
  return out;
}

}  // namespace opsagent
