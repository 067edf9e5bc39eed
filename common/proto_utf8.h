#ifndef OPSAGENT_COMMON_PROTO_UTF8_H_
#define OPSAGENT_COMMON_PROTO_UTF8_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace opsagent {

// `text` with each byte that does not start well-formed UTF-8 replaced by
// U+FFFD; `text` itself when it is well-formed.
std::string ValidUtf8(absl::string_view text);

// Makes every string field of `message` (nested and repeated ones too)
// well-formed UTF-8, as ValidUtf8. For messages filled from a store someone
// may have edited (a row of the audit log, an incident): Protobuf refuses
// to send a string that is not UTF-8, and one such row would otherwise make
// every answer that holds it fail. Bytes fields are left as they are.
void ReplaceInvalidUtf8(google::protobuf::Message* message);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_PROTO_UTF8_H_
