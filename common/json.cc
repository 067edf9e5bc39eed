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

}  // namespace

nlohmann::ordered_json EmbeddedJson(absl::string_view text) {
  // As the webhook parser bounds depth: values deeper than the bound are
  // discarded as they are read, never built.
  bool too_deep = false;
  const nlohmann::ordered_json::parser_callback_t bounded =
      [&](int depth, nlohmann::ordered_json::parse_event_t,
          nlohmann::ordered_json&) {
        if (depth >= kMaxEmbeddedDepth) too_deep = true;
        return !too_deep;
      };
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(
      text.begin(), text.end(), bounded, /*allow_exceptions=*/false);
  if (too_deep || parsed.is_discarded())
    return nlohmann::ordered_json(std::string(text));
  return parsed;
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
