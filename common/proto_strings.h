#ifndef OPSAGENT_COMMON_PROTO_STRINGS_H_
#define OPSAGENT_COMMON_PROTO_STRINGS_H_

#include <functional>
#include <string>

#include "google/protobuf/message.h"

namespace opsagent {

// Calls `repair` on every string field of `message` (nested and repeated
// messages, maps included; bytes fields are left as they are) and stores
// what it changed: `repair` rewrites the text in place and says whether it
// did. Returns how many fields it changed. For text a message carries from
// outside (a host, an edited store) that must still serialize and print.
int RepairStringFields(google::protobuf::Message* message,
                       const std::function<bool(std::string* text)>& repair);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_PROTO_STRINGS_H_
