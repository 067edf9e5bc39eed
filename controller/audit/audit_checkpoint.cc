#include "controller/audit/audit_checkpoint.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/regular_file.h"
#include "common/trusted_path.h"
#include "controller/audit/audit_chain.h"

namespace opsagent {
namespace {

constexpr size_t kMaxKeyFileBytes = 16 << 10;

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using UniqueKey = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using UniqueBio = std::unique_ptr<BIO, BioDeleter>;
using UniqueDigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

void Field(std::string* out, absl::string_view value) {
  absl::StrAppend(out, value.size(), ":", value, ";");
}

std::string PublicKeyId(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key, &der);
  if (length <= 0) return "";
  std::string id = Sha256Hex(std::string(reinterpret_cast<char*>(der), length))
                       .substr(0, 16);
  OPENSSL_free(der);
  return id;
}

std::string PublicKeyPem(EVP_PKEY* key) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return "";
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, length);
}

// Reads the key file, which must be the controller's alone.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadSecretFile(path, kMaxKeyFileBytes);
  if (!pem.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit checkpoint key ", pem.status().message()));
  }
  return pem;
}

}  // namespace

bool SameCheckpoint(const v1::AuditCheckpoint& a,
                    const v1::AuditCheckpoint& b) {
  return CanonicalCheckpoint(a) == CanonicalCheckpoint(b) &&
         a.signature() == b.signature();
}

std::string CanonicalCheckpoint(const v1::AuditCheckpoint& c) {
  std::string out = "opsagent-audit-checkpoint-v1;";
  for (int64_t value :
       {c.number(), c.first_seq(), c.last_seq(), c.signed_at_ms()})
    Field(&out, absl::StrCat(value));
  Field(&out, c.head_hash());
  Field(&out, c.previous_signature());
  Field(&out, c.key_id());
  return out;
}

absl::StatusOr<std::unique_ptr<CheckpointSigner>> CheckpointSigner::FromKeyFile(
    const std::string& path) {
  absl::StatusOr<std::string> pem = ReadKeyFile(path);
  if (!pem.ok()) return pem.status();
  UniqueBio bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  UniqueKey key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
          : nullptr);
  if (key == nullptr || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit checkpoint key ", path,
        " is not a PEM Ed25519 private key (openssl genpkey -algorithm "
        "ed25519 -out ",
        path, ")"));
  }
  std::string id = PublicKeyId(key.get());
  std::string public_pem = PublicKeyPem(key.get());
  return std::unique_ptr<CheckpointSigner>(new CheckpointSigner(
      key.release(), std::move(id), std::move(public_pem)));
}

CheckpointSigner::~CheckpointSigner() { EVP_PKEY_free(key_); }

absl::Status CheckpointSigner::Sign(v1::AuditCheckpoint& checkpoint) const {
  checkpoint.set_key_id(key_id_);
  const std::string message = CanonicalCheckpoint(checkpoint);
  UniqueDigestContext context(EVP_MD_CTX_new());
  unsigned char signature[64];
  size_t length = sizeof(signature);
  if (context == nullptr ||
      EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_) != 1 ||
      EVP_DigestSign(context.get(), signature, &length,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return absl::InternalError("cannot sign an audit checkpoint");
  }
  checkpoint.set_signature(absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(signature), length)));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CheckpointVerifier>> CheckpointVerifier::FromPem(
    const std::string& pem) {
  UniqueBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  UniqueKey key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)
                    : nullptr);
  if (key == nullptr) {
    bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    key.reset(
        bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
            : nullptr);
  }
  if (key == nullptr || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519)
    return absl::InvalidArgumentError("not a PEM Ed25519 key");
  std::string id = PublicKeyId(key.get());
  return std::unique_ptr<CheckpointVerifier>(
      new CheckpointVerifier(key.release(), std::move(id)));
}

absl::StatusOr<std::unique_ptr<CheckpointVerifier>>
CheckpointVerifier::FromFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadRegularFile(path, kMaxKeyFileBytes);
  if (!pem.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint key: ", pem.status().message()));
  }
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> verifier = FromPem(*pem);
  if (!verifier.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint key ", path, ": ", verifier.status().message(),
                     " (opsctld's key, or its public half from openssl pkey "
                     "-pubout)"));
  }
  return verifier;
}

CheckpointVerifier::~CheckpointVerifier() { EVP_PKEY_free(key_); }

absl::Status CheckpointVerifier::Check(
    const v1::AuditCheckpoint& checkpoint) const {
  if (checkpoint.key_id() != key_id_) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint ", checkpoint.number(), " names key ", checkpoint.key_id(),
        ", not the key given (", key_id_, ")"));
  }
  const std::string& hex = checkpoint.signature();
  if (hex.size() != 128 ||
      hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", checkpoint.number(), " has no signature"));
  }
  const std::string signature = absl::HexStringToBytes(hex);
  const std::string message = CanonicalCheckpoint(checkpoint);
  UniqueDigestContext context(EVP_MD_CTX_new());
  if (context == nullptr ||
      EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key_) !=
          1 ||
      EVP_DigestVerify(context.get(),
                       reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", checkpoint.number(),
                     " is not signed by the key given: forged or altered"));
  }
  return absl::OkStatus();
}

absl::Status CheckCheckpointSequence(
    const std::vector<v1::AuditCheckpoint>& checkpoints,
    const CheckpointVerifier& key) {
  const v1::AuditCheckpoint* previous = nullptr;
  for (const v1::AuditCheckpoint& c : checkpoints) {
    const int64_t expected = previous ? previous->number() + 1 : 1;
    if (c.number() != expected) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint", c.number() - expected > 1 ? "s " : " ", expected,
          c.number() - expected > 1 ? absl::StrCat(" to ", c.number() - 1) : "",
          " deleted: the checkpoints jump from ",
          previous ? absl::StrCat(previous->number()) : "the start", " to ",
          c.number()));
    }
    if (c.previous_signature() != (previous ? previous->signature() : "")) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint ", c.number(), " does not follow checkpoint ",
          expected - 1, " (it names another signature): replaced"));
    }
    const int64_t first = previous ? previous->last_seq() + 1 : 1;
    if (c.first_seq() != first || c.last_seq() < c.first_seq()) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint ", c.number(), " covers events ", c.first_seq(), " to ",
          c.last_seq(), ", not from ", first));
    }
    if (absl::Status signature = key.Check(c); !signature.ok())
      return signature;
    previous = &c;
  }
  return absl::OkStatus();
}

}  // namespace opsagent
