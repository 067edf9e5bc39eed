#include "common/proto_utf8.h"

#include "common/proto_strings.h"
#include "common/utf8.h"

namespace opsagent {

std::string ValidUtf8(absl::string_view text) {
  if (IsValidUtf8(text)) return std::string(text);
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const Utf8Sequence sequence = DecodeUtf8At(text, i);
    if (sequence.length == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
    } else {
      out.append(text.data() + i, sequence.length);
      i += sequence.length;
    }
  }
  return out;
}

void ReplaceInvalidUtf8(google::protobuf::Message* message) {
  RepairStringFields(message, [](std::string* text) {
    if (IsValidUtf8(*text)) return false;
    *text = ValidUtf8(*text);
    return true;
  });
}

}  // namespace opsagent
