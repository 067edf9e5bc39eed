#ifndef OPSAGENT_COMMON_REQUEST_META_H_
#define OPSAGENT_COMMON_REQUEST_META_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// The longest request id, incident, run id or ticket a request may carry.
inline constexpr size_t kMaxRequestIdBytes = 128;

// Checks text a caller sends for logs, journals and the audit log: at most
// `max_bytes`, valid UTF-8, no control characters (C0, DEL, C1,
// bidirectional controls: what the agent escapes in its replies) and no
// zero-width characters. `field` names it in the error.
absl::Status CheckCallerText(absl::string_view field, absl::string_view value,
                             size_t max_bytes);

// CheckCallerText on each field of a request's meta (request id, reason,
// incident, run id, ticket), with their limits. The agent and the controller
// both refuse what fails before anything is recorded.
absl::Status CheckRequestMeta(const v1::RequestMeta& meta);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_REQUEST_META_H_
