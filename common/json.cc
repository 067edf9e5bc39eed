#include "common/json.h"

#include "google/protobuf/util/json_util.h"

namespace opsagent {

std::string DumpJson(const nlohmann::ordered_json& value) {
  return value.dump(-1, ' ', false,
                    nlohmann::ordered_json::error_handler_t::replace);
}

std::string JsonString(absl::string_view text) {
  return DumpJson(std::string(text));
}

nlohmann::ordered_json EmbeddedJson(absl::string_view text) {
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(
      text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? nlohmann::ordered_json(std::string(text))
                               : parsed;
}

std::string ProtoToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok())
    return "null";
  return json;
}

}  // namespace opsagent
