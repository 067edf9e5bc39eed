#include "controller/alerts/alert_notification.h"

#include <openssl/sha.h>

#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/utf8.h"
#include "nlohmann/json.hpp"

namespace opsagent {
namespace {

using Json = nlohmann::json;

constexpr int kMaxDepth = 32;
constexpr size_t kMaxAlerts = 1000;
constexpr size_t kMaxLabels = 64;
constexpr size_t kMaxStringBytes = 4096;

absl::Status Bad(absl::string_view where, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
}

absl::Status CheckText(absl::string_view where, const std::string& text,
                       bool allow_newlines) {
  if (text.size() > kMaxStringBytes)
    return Bad(where, absl::StrCat("longer than ", kMaxStringBytes, " bytes"));
  if (!IsValidUtf8(text)) return Bad(where, "not valid UTF-8");
  for (unsigned char c : text) {
    if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t'))) ||
        c == 0x7f)
      return Bad(where, "holds a control character");
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

// The string field `name` of `object`, "" when absent or null.
absl::StatusOr<std::string> OptionalString(const Json& object,
                                           const std::string& where,
                                           const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return Bad(absl::StrCat(where, name), "must be a string");
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
  if (!it->is_object()) return Bad(field, "must be an object of strings");
  if (it->size() > kMaxLabels)
    return Bad(field, absl::StrCat("more than ", kMaxLabels, " entries"));
  for (const auto& [key, value] : it->items()) {
    const std::string entry = absl::StrCat(field, ".", key);
    const bool valid_name =
        labels ? IsLabelName(key)
               : key.size() <= 128 && CheckText(field, key, false).ok();
    if (!valid_name)
      return Bad(field, absl::StrCat("\"", absl::CEscape(key.substr(0, 64)),
                                     "\" is not a valid name"));
    if (!value.is_string()) return Bad(entry, "must be a string");
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
    if (required) return Bad(absl::StrCat(where, name), "is required");
    return 0;
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, *text, &time, &error))
    return Bad(absl::StrCat(where, name),
               absl::StrCat("\"", *text, "\" is not an RFC 3339 time"));
  // Alertmanager's "not set": 0001-01-01T00:00:00Z.
  if (time < absl::FromUnixSeconds(0)) return 0;
  return absl::ToUnixMillis(time);
}

// Alertmanager's fingerprint is a hash of the label set; one with the same
// property stands in when a sender gives none.
std::string LabelsFingerprint(
    const std::map<std::string, std::string>& labels) {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  for (const auto& [name, value] : labels) {
    SHA256_Update(&sha, name.data(), name.size());
    SHA256_Update(&sha, "\xff", 1);
    SHA256_Update(&sha, value.data(), value.size());
    SHA256_Update(&sha, "\xff", 1);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &sha);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

absl::StatusOr<ReceivedAlert> ParseAlert(const Json& value, size_t index) {
  const std::string where = absl::StrCat("alerts[", index, "].");
  if (!value.is_object())
    return Bad(absl::StrCat("alerts[", index, "]"), "must be an object");
  ReceivedAlert alert;
  absl::StatusOr<std::string> status = OptionalString(value, where, "status");
  if (!status.ok()) return status.status();
  if (*status != "firing" && *status != "resolved")
    return Bad(absl::StrCat(where, "status"),
               "must be \"firing\" or \"resolved\"");
  alert.status = *status;
  absl::StatusOr<std::map<std::string, std::string>> labels =
      StringMap(value, where, "labels", /*labels=*/true);
  if (!labels.ok()) return labels.status();
  if (labels->count("alertname") == 0 || labels->at("alertname").empty())
    return Bad(absl::StrCat(where, "labels"), "has no alertname");
  alert.labels = *std::move(labels);
  absl::StatusOr<std::map<std::string, std::string>> annotations =
      StringMap(value, where, "annotations", /*labels=*/false);
  if (!annotations.ok()) return annotations.status();
  alert.annotations = *std::move(annotations);
  absl::StatusOr<int64_t> starts = TimeField(value, where, "startsAt", true);
  if (!starts.ok()) return starts.status();
  absl::StatusOr<int64_t> ends = TimeField(value, where, "endsAt", false);
  if (!ends.ok()) return ends.status();
  alert.starts_at_ms = *starts;
  alert.ends_at_ms = *ends;
  absl::StatusOr<std::string> fingerprint =
      OptionalString(value, where, "fingerprint");
  if (!fingerprint.ok()) return fingerprint.status();
  if (fingerprint->size() > 64 ||
      !std::all_of(fingerprint->begin(), fingerprint->end(),
                   [](char c) { return absl::ascii_isxdigit(c); }))
    return Bad(absl::StrCat(where, "fingerprint"),
               "must be at most 64 hexadecimal digits");
  alert.fingerprint = fingerprint->empty()
                          ? LabelsFingerprint(alert.labels)
                          : absl::AsciiStrToLower(*fingerprint);
  absl::StatusOr<std::string> generator =
      OptionalString(value, where, "generatorURL");
  if (!generator.ok()) return generator.status();
  alert.generator_url = *generator;
  return alert;
}

}  // namespace

absl::StatusOr<AlertNotification> ParseAlertNotification(
    absl::string_view body) {
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
  const Json root = Json::parse(body.begin(), body.end(), checks,
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
  AlertNotification notification;
  absl::StatusOr<std::string> version = OptionalString(root, "", "version");
  if (!version.ok()) return version.status();
  if (*version == "4") {
    notification.source = "alertmanager";
  } else if (*version == "1") {
    notification.source = "grafana";
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "version: \"", absl::CEscape(version->substr(0, 16)),
        "\" is neither Alertmanager's webhook (\"4\") nor Grafana's (\"1\")"));
  }
  absl::StatusOr<std::string> status = OptionalString(root, "", "status");
  if (!status.ok()) return status.status();
  notification.status = *status;
  absl::StatusOr<std::string> external =
      OptionalString(root, "", "externalURL");
  if (!external.ok()) return external.status();
  notification.external_url = *external;
  auto alerts = root.find("alerts");
  if (alerts == root.end() || !alerts->is_array() || alerts->empty())
    return absl::InvalidArgumentError("alerts: must be a non-empty array");
  if (alerts->size() > kMaxAlerts)
    return absl::InvalidArgumentError(
        absl::StrCat("alerts: more than ", kMaxAlerts, " in one notification"));
  for (size_t i = 0; i < alerts->size(); ++i) {
    absl::StatusOr<ReceivedAlert> alert = ParseAlert((*alerts)[i], i);
    if (!alert.ok()) return alert.status();
    notification.alerts.push_back(*std::move(alert));
  }
  return notification;
}

}  // namespace opsagent
