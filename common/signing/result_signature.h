#ifndef OPSAGENT_COMMON_SIGNING_RESULT_SIGNATURE_H_
#define OPSAGENT_COMMON_SIGNING_RESULT_SIGNATURE_H_

#include <sys/types.h>

#include <string>
#include <tuple>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/signing/evp_key.h"

namespace opsagent {

// What an agent answered to one request, bound to the host and the request,
// and signed with the key of the agent's host certificate: the controller
// relays and records it, but cannot change it without the signature showing
// (`opsctl audit reconcile` compares it with the agent's own journal).

// SHA-256 (hex) of the host, the request id, the status code and the final
// message's bytes, length-prefixed.
std::string ResultSha256(absl::string_view host, absl::string_view request_id,
                         int status_code, absl::string_view final_message);

// Signs results with the private key in a file (the agent's TLS key). The
// key is parsed once and again only when the file changes (a rotation), as
// parsing a PEM key costs more than signing. Thread-safe.
class ResultSigner {
 public:
  explicit ResultSigner(std::string key_path)
      : key_path_(std::move(key_path)) {}

  absl::StatusOr<std::string> Sign(absl::string_view result_sha256)
      ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  const std::string key_path_;
  absl::Mutex mutex_;
  UniqueEvpKey key_ ABSL_GUARDED_BY(mutex_);
  // The file the key was read from: inode, size and change time.
  std::tuple<ino_t, off_t, int64_t> identity_ ABSL_GUARDED_BY(mutex_);
};

// OK if `signature` over `result_sha256` is by the key of `certificate_pem`
// (which the caller has verified is the host's).
absl::Status VerifyResult(absl::string_view certificate_pem,
                          absl::string_view result_sha256,
                          absl::string_view signature);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_SIGNING_RESULT_SIGNATURE_H_
