#include "agent/server/operator_certificate_cache.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

std::string Sha256(const void* data, size_t size) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(static_cast<const unsigned char*>(data), size, digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

absl::Status NotAccepted(absl::string_view why) {
  return absl::UnauthenticatedError(
      absl::StrCat("the operator certificate of a relayed call is not "
                   "accepted: ",
                   why));
}

}  // namespace

// The certificates of the PEM text, leaf first; freed with the entry.
struct VerifiedOperator::Certificates {
  std::vector<X509*> all;
  ~Certificates() {
    for (X509* cert : all) X509_free(cert);
  }
};

VerifiedOperator::~VerifiedOperator() = default;

EVP_PKEY* VerifiedOperator::public_key() const {
  return X509_get0_pubkey(certificates_->all.front());
}

OperatorCertificateCache::OperatorCertificateCache(const ServerTrust& trust,
                                                   size_t capacity)
    : trust_(trust), capacity_(capacity) {}

absl::StatusOr<std::shared_ptr<const VerifiedOperator>>
OperatorCertificateCache::Verify(absl::string_view pem, absl::Time now) {
  std::shared_ptr<const ChainVerifier> chain = trust_.chain();
  if (chain == nullptr)
    return NotAccepted("no CA bundle has passed its checks yet");
  const std::string key = Sha256(pem.data(), pem.size());
  {
    absl::MutexLock lock(&mutex_);
    if (verified_with_ != chain) {
      // The CA bundle or a CRL changed: nothing verified before counts.
      entries_.clear();
      verified_with_ = chain;
    }
    auto found = entries_.find(key);
    if (found != entries_.end()) {
      if (now < found->second->valid_until()) return found->second;
      entries_.erase(found);
    }
  }
  absl::StatusOr<std::shared_ptr<const VerifiedOperator>> verified =
      VerifyAnew(pem, *chain, now);
  if (!verified.ok()) return verified.status();
  absl::MutexLock lock(&mutex_);
  // Kept only if the trust did not change meanwhile.
  if (verified_with_ == chain) {
    if (entries_.size() >= capacity_) {
      absl::erase_if(entries_, [now](const auto& entry) {
        return now >= entry.second->valid_until();
      });
      if (entries_.size() >= capacity_) entries_.clear();
    }
    entries_[key] = *verified;
  }
  return verified;
}

absl::StatusOr<std::shared_ptr<const VerifiedOperator>>
OperatorCertificateCache::VerifyAnew(absl::string_view pem,
                                     const ChainVerifier& chain,
                                     absl::Time now) {
  std::shared_ptr<VerifiedOperator> verified(new VerifiedOperator());
  verified->certificates_ = std::make_unique<VerifiedOperator::Certificates>();
  std::vector<X509*>& all = verified->certificates_->all;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("out of memory");
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr))
    all.push_back(cert);
  BIO_free(bio);
  ERR_clear_error();  // the end of the text reads as an error
  if (all.empty()) return NotAccepted("the peer sent no certificate");
  const std::vector<X509*> intermediates(all.begin() + 1, all.end());
  absl::StatusOr<absl::Time> valid_until = chain.VerifyParsed(
      all.front(), intermediates, now, ChainVerifier::Purpose::kClient);
  if (!valid_until.ok()) return NotAccepted(valid_until.status().message());
  absl::StatusOr<PeerIdentity> identity = identities_.FromPem(pem);
  if (!identity.ok()) return identity.status();
  unsigned char* der = nullptr;
  const int length = i2d_X509(all.front(), &der);
  if (length <= 0) return NotAccepted("its certificate cannot be encoded");
  verified->certificate_sha256_ = Sha256(der, static_cast<size_t>(length));
  OPENSSL_free(der);
  if (X509_get0_pubkey(all.front()) == nullptr) {
    ERR_clear_error();
    return NotAccepted("its public key cannot be read");
  }
  verified->identity_ = *std::move(identity);
  verified->valid_until_ = *valid_until;
  return std::shared_ptr<const VerifiedOperator>(std::move(verified));
}

}  // namespace opsagent
