#include "common/unknown_fields.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace opsagent {

absl::Status RefuseUnknownFields(const google::protobuf::Message& request,
                                 absl::string_view receiver) {
  const google::protobuf::Reflection* reflection = request.GetReflection();
  if (!reflection->GetUnknownFields(request).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request's ", request.GetDescriptor()->name(), " holds a field ",
        receiver,
        " does not know (sent by a release of another version?); nothing "
        "was done: use matching releases"));
  }
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(request, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE)
      continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(request, field); ++i) {
        if (absl::Status inner = RefuseUnknownFields(
                reflection->GetRepeatedMessage(request, field, i), receiver);
            !inner.ok())
          return inner;
      }
    } else if (absl::Status inner = RefuseUnknownFields(
                   reflection->GetMessage(request, field), receiver);
               !inner.ok()) {
      return inner;
    }
  }
  return absl::OkStatus();
}

}  // namespace opsagent
