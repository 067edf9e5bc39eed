#ifndef OPSAGENT_CONTROLLER_ALERTS_WEBHOOK_JSON_H_
#define OPSAGENT_CONTROLLER_ALERTS_WEBHOOK_JSON_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace opsagent {

// Reading a webhook body, which comes from the network, for every alert
// source alike: strict JSON, and fields that are checked as they are read.
// Errors are INVALID_ARGUMENT naming the field ("alerts[2].startsAt: ...").

using Json = nlohmann::json;

// Strings a sender gives are at most this long.
inline constexpr size_t kMaxWebhookStringBytes = 4096;

// `body` as a JSON object: valid JSON, at most 32 levels deep, and no key
// twice in one object (which a proxy in front may read as the first and
// this parser as the last).
absl::StatusOr<Json> ParseWebhookJson(absl::string_view body);

// INVALID_ARGUMENT "`where`: `why`".
absl::Status BadField(absl::string_view where, absl::string_view why);

// The string field `name` of `object` (`where` is its path so far,
// "alerts[0]."),
// "" when absent or null; valid UTF-8 of at most kMaxWebhookStringBytes,
// without control characters.
absl::StatusOr<std::string> OptionalString(const Json& object,
                                           const std::string& where,
                                           const char* name);

// The object `name` of `object` as strings, at most 64 entries. With
// `labels`, names must be Prometheus label names and values hold no control
// character; otherwise (annotations) values may hold newlines and tabs.
absl::StatusOr<std::map<std::string, std::string>> StringMap(
    const Json& object, const std::string& where, const char* name,
    bool labels);

// The RFC 3339 time `name` of `object` in Unix milliseconds; 0 when absent
// (INVALID_ARGUMENT if `required`) or before 1970 (Alertmanager's "not
// set" is 0001-01-01T00:00:00Z).
absl::StatusOr<int64_t> TimeField(const Json& object, const std::string& where,
                                  const char* name, bool required);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_WEBHOOK_JSON_H_
