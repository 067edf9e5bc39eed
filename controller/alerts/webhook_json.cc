#include "controller/alerts/webhook_json.h"

#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/utf8.h"

namespace opsagent {
namespace {

constexpr int kMaxDepth = 32;
constexpr size_t kMaxEntries = 64;

absl::Status CheckText(absl::string_view where, const std::string& text,
                       bool allow_newlines) {
  if (text.size() > kMaxWebhookStringBytes)
    return BadField(
        where, absl::StrCat("longer than ", kMaxWebhookStringBytes, " bytes"));
  if (!IsValidUtf8(text)) return BadField(where, "not valid UTF-8");
  for (unsigned char c : text) {
    if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t'))) ||
        c == 0x7f)
      return BadField(where, "holds a control character");
  }
  return absl::OkStatus();
}

// A Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsLabelName(const std::string& name) {
  if (name.empty() || name.size() > 128 || absl::ascii_isdigit(name[0]))
    return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::Status BadField(absl::string_view where, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
}

absl::StatusOr<Json> ParseWebhookJson(absl::string_view body) {
  // Deeper than kMaxDepth, or a key twice in one object (which a proxy
  // in front may read as the first and this parser as the last).
  bool too_deep = false;
  bool duplicate = false;
  std::vector<std::set<std::string>> keys;
  const Json::parser_callback_t checks =
      [&](int depth, Json::parse_event_t event, Json& parsed) {
        if (depth > kMaxDepth) too_deep = true;
        if (event == Json::parse_event_t::object_start) keys.emplace_back();
        if (event == Json::parse_event_t::object_end && !keys.empty())
          keys.pop_back();
        if (event == Json::parse_event_t::key && !keys.empty() &&
            parsed.is_string() &&
            !keys.back().insert(parsed.get<std::string>()).second)
          duplicate = true;
        return !too_deep && !duplicate;
      };
  Json root = Json::parse(body.begin(), body.end(), checks,
                          /*allow_exceptions=*/false);
  if (duplicate)
    return absl::InvalidArgumentError(
        "body: an object names the same key twice");
  if (too_deep)
    return absl::InvalidArgumentError(
        absl::StrCat("body: nested deeper than ", kMaxDepth, " levels"));
  if (root.is_discarded())
    return absl::InvalidArgumentError("body: not valid JSON");
  if (!root.is_object())
    return absl::InvalidArgumentError("body: must be a JSON object");
  return root;
}

absl::StatusOr<std::string> OptionalString(const Json& object,
                                           const std::string& where,
                                           const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return BadField(absl::StrCat(where, name), "must be a string");
  std::string value = it->get<std::string>();
  if (absl::Status text = CheckText(absl::StrCat(where, name), value, false);
      !text.ok())
    return text;
  return value;
}

absl::StatusOr<std::map<std::string, std::string>> StringMap(
    const Json& object, const std::string& where, const char* name,
    bool labels) {
  std::map<std::string, std::string> out;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return out;
  const std::string field = absl::StrCat(where, name);
  if (!it->is_object()) return BadField(field, "must be an object of strings");
  if (it->size() > kMaxEntries)
    return BadField(field, absl::StrCat("more than ", kMaxEntries, " entries"));
  for (const auto& [key, value] : it->items()) {
    const std::string entry = absl::StrCat(field, ".", key);
    const bool valid_name =
        labels ? IsLabelName(key)
               : key.size() <= 128 && CheckText(field, key, false).ok();
    if (!valid_name)
      return BadField(field,
                      absl::StrCat("\"", absl::CEscape(key.substr(0, 64)),
                                   "\" is not a valid name"));
    if (!value.is_string()) return BadField(entry, "must be a string");
    std::string text = value.get<std::string>();
    if (absl::Status checked = CheckText(entry, text, !labels); !checked.ok())
      return checked;
    out[key] = std::move(text);
  }
  return out;
}

absl::StatusOr<int64_t> TimeField(const Json& object, const std::string& where,
                                  const char* name, bool required) {
  absl::StatusOr<std::string> text = OptionalString(object, where, name);
  if (!text.ok()) return text.status();
  if (text->empty()) {
    if (required) return BadField(absl::StrCat(where, name), "is required");
    return 0;
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, *text, &time, &error))
    return BadField(absl::StrCat(where, name),
                    absl::StrCat("\"", *text, "\" is not an RFC 3339 time"));
  // Alertmanager's "not set": 0001-01-01T00:00:00Z.
  if (time < absl::FromUnixSeconds(0)) return 0;
  return absl::ToUnixMillis(time);
}

}  // namespace opsagent
