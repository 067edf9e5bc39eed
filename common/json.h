#ifndef OPSAGENT_COMMON_JSON_H_
#define OPSAGENT_COMMON_JSON_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace opsagent {

// `value` as compact JSON, in its keys' insertion order; invalid UTF-8 in
// its strings becomes U+FFFD, so the output always parses.
std::string DumpJson(const nlohmann::ordered_json& value);

// `text` as a quoted JSON string (DumpJson of it).
std::string JsonString(absl::string_view text);

// JSON text opsctl stored (a request's parameters, a result) as a value to
// put in a document: parsed, so that text which is not JSON (an edited log)
// is embedded as a string instead of being spliced in; so is JSON nested
// deeper than any opsctl writes (64 levels), which would exhaust the stack.
nlohmann::ordered_json EmbeddedJson(absl::string_view text);

// A message in Protobuf's canonical JSON mapping, with the .proto field names
// (snake_case) and default values printed, so scripts see stable fields.
// 64-bit integers are JSON strings in that mapping.
std::string ProtoToJson(const google::protobuf::Message& message);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_JSON_H_
