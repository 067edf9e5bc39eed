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

// What the audit commands share: reading times as operators write them,
// and the log they mean.

// "90m", "24h", "7d" (before now), or a UTC date/time "2026-11-25",
// "2026-11-25T14:00", "2026-11-25T14:00:00Z", as Unix ms; errors name
// `--flag`.
absl::StatusOr<int64_t> ParseTimeFlag(const std::string& flag,
                                      const std::string& text);

// The team's log through the controller, or the local one (--direct, or no
// controller configured).
// `without_results` leaves each row's result_json out (much less to carry
// for many rows).
absl::StatusOr<std::vector<v1::AuditEntry>> QueryAuditLog(
    Invocation& invocation, const v1::AuditQuery& filter,
    bool without_results = false);

// One row as `audit --output json`, `audit export` and `incident show
// --output json` print it: outcome by name, times in RFC 3339, parameters
// and result as JSON.
nlohmann::ordered_json AuditRowJson(const v1::AuditEntry& record);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_AUDIT_QUERY_H_
