#include "common/proto_strings.h"

#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace opsagent {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

int RepairStringFields(Message* message,
                       const std::function<bool(std::string* text)>& repair) {
  int repaired = 0;
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    const bool text = field->type() == FieldDescriptor::TYPE_STRING;
    const bool nested = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!text && !nested) continue;
    const int count =
        field->is_repeated() ? reflection->FieldSize(*message, field) : 1;
    for (int i = 0; i < count; ++i) {
      if (nested) {
        repaired += RepairStringFields(
            field->is_repeated()
                ? reflection->MutableRepeatedMessage(message, field, i)
                : reflection->MutableMessage(message, field),
            repair);
        continue;
      }
      std::string value =
          field->is_repeated()
              ? reflection->GetRepeatedString(*message, field, i)
              : reflection->GetString(*message, field);
      if (!repair(&value)) continue;
      ++repaired;
      if (field->is_repeated()) {
        reflection->SetRepeatedString(message, field, i, std::move(value));
      } else {
        reflection->SetString(message, field, std::move(value));
      }
    }
  }
  return repaired;
}

}  // namespace opsagent
