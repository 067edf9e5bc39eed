#ifndef OPSAGENT_COMMON_JSON_H_
#define OPSAGENT_COMMON_JSON_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace opsagent {

// `text` as a quoted JSON string.
std::string JsonString(absl::string_view text);

// A message in Protobuf's canonical JSON mapping, with the .proto field names
// (snake_case) and default values printed, so scripts see stable fields.
// 64-bit integers are JSON strings in that mapping.
std::string ProtoToJson(const google::protobuf::Message& message);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_JSON_H_
