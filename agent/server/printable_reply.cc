#include "agent/server/printable_reply.h"

#include <string>
#include <vector>

#include "common/host_text.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace opsagent {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool Repair(std::string* text) {
  if (IsPrintableText(*text, LineBreaks::kKeep)) return false;
  *text = EscapeHostBytes(*text, LineBreaks::kKeep);
  return true;
}

}  // namespace

int MakeStringsPrintable(Message* message) {
  int repaired = 0;
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          std::string text = reflection->GetRepeatedString(*message, field, i);
          if (Repair(&text)) {
            reflection->SetRepeatedString(message, field, i, std::move(text));
            ++repaired;
          }
        }
      } else {
        std::string text = reflection->GetString(*message, field);
        if (Repair(&text)) {
          reflection->SetString(message, field, std::move(text));
          ++repaired;
        }
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          repaired += MakeStringsPrintable(
              reflection->MutableRepeatedMessage(message, field, i));
        }
      } else {
        repaired +=
            MakeStringsPrintable(reflection->MutableMessage(message, field));
      }
    }
  }
  return repaired;
}

absl::Status MakePrintable(const absl::Status& status) {
  std::string text(status.message());
  if (!Repair(&text)) return status;
  return absl::Status(status.code(), text);
}

}  // namespace opsagent
