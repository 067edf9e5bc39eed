#ifndef OPSAGENT_CONTROLLER_COMMANDS_AUDIT_QUERY_H_
#define OPSAGENT_CONTROLLER_COMMANDS_AUDIT_QUERY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/audit/audit_store.h"
#include "controller/invocation.h"
#include "nlohmann/json.hpp"

namespace opsagent {

// What the audit commands share: reading times as operators write them, and
// printing a row.

// "90m", "24h", "7d" (before now), or a UTC date/time "2026-11-25",
// "2026-11-25T14:00", "2026-11-25T14:00:00Z", as Unix ms; errors name
// `--flag`.
absl::StatusOr<int64_t> ParseTimeFlag(const std::string& flag,
                                      const std::string& text);

// One row as `audit --output json`, `audit export` and `incident show
// --output json` print it: outcome by name, times in RFC 3339, parameters
// and result as JSON.
nlohmann::ordered_json AuditRowJson(const v1::AuditEntry& record);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_AUDIT_QUERY_H_
