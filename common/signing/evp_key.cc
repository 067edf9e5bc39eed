#include "common/signing/evp_key.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using UniqueDigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

const EVP_MD* DigestFor(EVP_PKEY* key) {
  const int type = EVP_PKEY_get_base_id(key);
  return type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448 ? nullptr
                                                            : EVP_sha256();
}

const unsigned char* Bytes(absl::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

void EvpKeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

absl::StatusOr<UniqueEvpKey> ReadPrivateKeyFile(const std::string& path,
                                                absl::string_view what) {
  BIO* file = BIO_new_file(path.c_str(), "r");
  if (file == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the private key ", path, " to ", what));
  }
  UniqueEvpKey key(PEM_read_bio_PrivateKey(file, nullptr, nullptr, nullptr));
  BIO_free(file);
  if (key == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     " is not a PEM private key (an encrypted key "
                     "is not supported); cannot ",
                     what));
  }
  return key;
}

absl::StatusOr<std::string> SignBytes(EVP_PKEY* key,
                                      absl::string_view message) {
  UniqueDigestContext context(EVP_MD_CTX_new());
  size_t length = 0;
  if (context == nullptr ||
      EVP_DigestSignInit(context.get(), nullptr, DigestFor(key), nullptr,
                         key) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, Bytes(message),
                     message.size()) != 1) {
    return absl::InternalError("cannot sign with this key");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(context.get(),
                     reinterpret_cast<unsigned char*>(signature.data()),
                     &length, Bytes(message), message.size()) != 1) {
    return absl::InternalError("cannot sign with this key");
  }
  signature.resize(length);
  return signature;
}

bool VerifyBytes(EVP_PKEY* key, absl::string_view message,
                 absl::string_view signature) {
  UniqueDigestContext context(EVP_MD_CTX_new());
  return key != nullptr && context != nullptr &&
         EVP_DigestVerifyInit(context.get(), nullptr, DigestFor(key), nullptr,
                              key) == 1 &&
         EVP_DigestVerify(context.get(), Bytes(signature), signature.size(),
                          Bytes(message), message.size()) == 1;
}

}  // namespace opsagent
