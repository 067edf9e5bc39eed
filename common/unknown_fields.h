#ifndef OPSAGENT_COMMON_UNKNOWN_FIELDS_H_
#define OPSAGENT_COMMON_UNKNOWN_FIELDS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace opsagent {

// OK unless `request`, or a message inside it, holds a field this release
// does not declare: a caller of another release (a newer one narrowing a
// query or asking for read-only, an older one with a retired field) whose
// ask would otherwise be dropped unread and answered as if never made.
// INVALID_ARGUMENT names the message and says `receiver` (e.g. "this
// agent") does not know it.
absl::Status RefuseUnknownFields(const google::protobuf::Message& request,
                                 absl::string_view receiver);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_UNKNOWN_FIELDS_H_
