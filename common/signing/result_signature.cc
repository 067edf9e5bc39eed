#include "common/signing/result_signature.h"

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/signing/evp_key.h"

namespace opsagent {
namespace {

constexpr absl::string_view kContext = "opsagent-result-v1;";

void Field(std::string* out, absl::string_view value) {
  absl::StrAppend(out, value.size(), ":", value, ";");
}

// What is signed: the digest, under a context of its own, so that no other
// signature of this key (a TLS handshake's) can pass for it.
std::string SignedText(absl::string_view result_sha256) {
  return absl::StrCat(kContext, result_sha256);
}

}  // namespace

std::string ResultSha256(absl::string_view host, absl::string_view request_id,
                         int status_code, absl::string_view final_message) {
  std::string canonical(kContext);
  Field(&canonical, host);
  Field(&canonical, request_id);
  Field(&canonical, absl::StrCat(status_code));
  Field(&canonical, final_message);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()),
         canonical.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
}

absl::StatusOr<std::string> ResultSigner::Sign(
    absl::string_view result_sha256) {
  struct stat st;
  if (stat(key_path_.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the private key ", key_path_,
                     " to sign results: ", std::strerror(errno)));
  }
  const auto identity = std::make_tuple(
      st.st_ino, st.st_size,
      int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec);
  absl::MutexLock lock(&mutex_);
  if (key_ == nullptr || identity != identity_) {
    absl::StatusOr<UniqueEvpKey> key =
        ReadPrivateKeyFile(key_path_, "sign results");
    if (!key.ok()) return key.status();
    key_ = *std::move(key);
    identity_ = identity;
  }
  return SignBytes(key_.get(), SignedText(result_sha256));
}

absl::Status VerifyResult(absl::string_view certificate_pem,
                          absl::string_view result_sha256,
                          absl::string_view signature) {
  BIO* bio = BIO_new_mem_buf(certificate_pem.data(),
                             static_cast<int>(certificate_pem.size()));
  X509* cert =
      bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (cert == nullptr)
    return absl::InvalidArgumentError("no host certificate to check with");
  const bool good =
      !signature.empty() &&
      VerifyBytes(X509_get0_pubkey(cert), SignedText(result_sha256), signature);
  X509_free(cert);
  if (!good) {
    return absl::DataLossError(
        "the result is not signed by the host's key (changed on the way, or "
        "unsigned)");
  }
  return absl::OkStatus();
}

}  // namespace opsagent
