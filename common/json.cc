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

namespace {

// Deeper than any document opsctl writes; building, printing or freeing a
// parsed document recurses once a level, so a planted one nested 60,000
// deep would overflow the stack.
constexpr int kMaxEmbeddedDepth = 64;

// Whether `text` nests arrays and objects deeper than kMaxEmbeddedDepth
// (brackets inside strings do not count).
bool NestsTooDeep(absl::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxEmbeddedDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

nlohmann::ordered_json EmbeddedJson(absl::string_view text) {
  if (NestsTooDeep(text)) return nlohmann::ordered_json(std::string(text));
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
