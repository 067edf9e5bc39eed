#ifndef OPSAGENT_COMMON_SIGNING_EVP_KEY_H_
#define OPSAGENT_COMMON_SIGNING_EVP_KEY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace opsagent {

// Signing and checking bytes with an OpenSSL key, whatever its type: Ed25519
// and Ed448 sign the message itself, every other key (ECDSA, RSA) its
// SHA-256. What requests, results and their checks share.

struct EvpKeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using UniqueEvpKey = std::unique_ptr<EVP_PKEY, EvpKeyDeleter>;

// A PEM private key file (unencrypted), or an error naming `what` it is for.
absl::StatusOr<UniqueEvpKey> ReadPrivateKeyFile(const std::string& path,
                                                absl::string_view what);

// The signature of `message` by `key`.
absl::StatusOr<std::string> SignBytes(EVP_PKEY* key, absl::string_view message);

// Whether `signature` is `key`'s over `message`.
bool VerifyBytes(EVP_PKEY* key, absl::string_view message,
                 absl::string_view signature);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_SIGNING_EVP_KEY_H_
