#include "common/proto_utf8.h"

#include <vector>

#include "common/utf8.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace opsagent {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

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

void ReplaceInvalidUtf8(Message* message) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          const std::string text =
              reflection->GetRepeatedString(*message, field, i);
          if (!IsValidUtf8(text))
            reflection->SetRepeatedString(message, field, i, ValidUtf8(text));
        }
      } else {
        const std::string text = reflection->GetString(*message, field);
        if (!IsValidUtf8(text))
          reflection->SetString(message, field, ValidUtf8(text));
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i)
          ReplaceInvalidUtf8(
              reflection->MutableRepeatedMessage(message, field, i));
      } else {
        ReplaceInvalidUtf8(reflection->MutableMessage(message, field));
      }
    }
  }
}

}  // namespace opsagent
