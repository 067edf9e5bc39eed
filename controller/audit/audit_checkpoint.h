#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_CHECKPOINT_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_CHECKPOINT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "opsagent/v1/controller.pb.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace opsagent {

// A signed statement of the audit chain's head: "events first_seq to
// last_seq end in head_hash", numbered, chained to the checkpoint before by
// its signature, signed by the controller with an Ed25519 key kept apart
// from the database. Whoever can write the database but not read the key
// cannot rewrite a signed event, and the copies exported outside the
// database show rows or checkpoints deleted from the end, or an older copy
// of the whole file (docs/AUDIT.md). v1::AuditCheckpoint (controller.proto)
// is its one type: in the log, in memory, in exported copies, on the wire.

// Whether `a` and `b` state the same: every field, the signature too.
bool SameCheckpoint(const v1::AuditCheckpoint& a, const v1::AuditCheckpoint& b);

// What is signed: every field but the signature, length-prefixed.
std::string CanonicalCheckpoint(const v1::AuditCheckpoint& checkpoint);

// Signs checkpoints with the controller's Ed25519 private key.
class CheckpointSigner {
 public:
  // A PEM Ed25519 private key (`openssl genpkey -algorithm ed25519`) that
  // only this process's user may read or change: anything else is refused.
  static absl::StatusOr<std::unique_ptr<CheckpointSigner>> FromKeyFile(
      const std::string& path);
  ~CheckpointSigner();

  // Fills in key_id and signature.
  absl::Status Sign(v1::AuditCheckpoint& checkpoint) const;

  const std::string& key_id() const { return key_id_; }
  // The public key (PEM), for `opsctl audit verify --checkpoint-key`.
  const std::string& public_key_pem() const { return public_key_pem_; }

 private:
  CheckpointSigner(EVP_PKEY* key, std::string key_id, std::string public_pem)
      : key_(key),
        key_id_(std::move(key_id)),
        public_key_pem_(std::move(public_pem)) {}

  EVP_PKEY* const key_;
  const std::string key_id_;
  const std::string public_key_pem_;
};

// Checks checkpoints against the controller's public key.
class CheckpointVerifier {
 public:
  // A PEM Ed25519 public key (`openssl pkey -pubout`), or the private key's
  // file (the public half is taken from it).
  static absl::StatusOr<std::unique_ptr<CheckpointVerifier>> FromPem(
      const std::string& pem);
  static absl::StatusOr<std::unique_ptr<CheckpointVerifier>> FromFile(
      const std::string& path);
  ~CheckpointVerifier();

  // OK if `checkpoint` was signed, as it is, by this key.
  absl::Status Check(const v1::AuditCheckpoint& checkpoint) const;

  const std::string& key_id() const { return key_id_; }

 private:
  CheckpointVerifier(EVP_PKEY* key, std::string key_id)
      : key_(key), key_id_(std::move(key_id)) {}

  EVP_PKEY* const key_;
  const std::string key_id_;
};

// Checks a log's checkpoints among themselves: numbered from 1 without a
// gap, each chained to the one before by its signature, covering the
// chain's events in order, and signed by `key`. DATA_LOSS naming the first
// that is not.
absl::Status CheckCheckpointSequence(
    const std::vector<v1::AuditCheckpoint>& checkpoints,
    const CheckpointVerifier& key);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_CHECKPOINT_H_
