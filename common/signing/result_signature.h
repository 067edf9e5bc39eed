#ifndef OPSAGENT_COMMON_SIGNING_RESULT_SIGNATURE_H_
#define OPSAGENT_COMMON_SIGNING_RESULT_SIGNATURE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// What an agent answered to one request, bound to the host and the request,
// and signed with the key of the agent's host certificate: the controller
// relays and records it, but cannot change it without the signature showing
// (`opsctl audit reconcile` compares it with the agent's own journal).

// SHA-256 (hex) of the host, the request id, the status code and the final
// message's bytes, length-prefixed.
std::string ResultSha256(absl::string_view host, absl::string_view request_id,
                         int status_code, absl::string_view final_message);

// Signs `result_sha256` with the private key in `key_path` (the agent's TLS
// key, read at each call, so a rotated key is used at once).
absl::StatusOr<std::string> SignResult(const std::string& key_path,
                                       absl::string_view result_sha256);

// OK if `signature` over `result_sha256` is by the key of `certificate_pem`
// (which the caller has verified is the host's).
absl::Status VerifyResult(absl::string_view certificate_pem,
                          absl::string_view result_sha256,
                          absl::string_view signature);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_SIGNING_RESULT_SIGNATURE_H_
