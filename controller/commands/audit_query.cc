#include "controller/commands/audit_query.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "controller/audit/audit_entry.h"
#include "controller/output/timestamps.h"

namespace opsagent {

absl::StatusOr<int64_t> ParseTimeFlag(const std::string& flag,
                                      const std::string& text) {
  if (!text.empty() && absl::ascii_isdigit(text.front()) &&
      text.find('-') == std::string::npos) {
    int64_t days;
    absl::Duration ago;
    if (text.back() == 'd' &&
        absl::SimpleAtoi(text.substr(0, text.size() - 1), &days)) {
      return absl::ToUnixMillis(absl::Now() - absl::Hours(24 * days));
    }
    if (absl::ParseDuration(text, &ago))
      return absl::ToUnixMillis(absl::Now() - ago);
  }
  for (const char* format : {"%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                             "%Y-%m-%dT%H:%M:%S%Ez", "%Y-%m-%d %H:%M"}) {
    absl::Time time;
    std::string error;
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &time, &error))
      return absl::ToUnixMillis(time);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " \"", text,
                   "\": use a duration before now (90m, 24h, 7d) or a UTC time "
                   "(2026-11-25T14:00)"));
}

nlohmann::ordered_json AuditRowJson(const v1::AuditEntry& r) {
  const v1::AuditIntent& i = r.intent();
  nlohmann::ordered_json json = {
      {"id", r.id()},
      {"request_id", i.request_id()},
      {"run_id", i.run_id()},
      {"started_at", Rfc3339Millis(i.started_at_ms())},
      {"os_user", i.os_user()},
      {"os_uid", i.has_os_uid() ? nlohmann::ordered_json(i.os_uid()) : nullptr},
      {"sudo_user_claimed", i.sudo_user()},
      {"cert_identity", i.cert_identity()},
      {"host", i.host()},
      {"address", i.address()},
      {"operation", i.operation()},
      {"parameters", i.parameters_json().empty()
                         ? nlohmann::ordered_json::object()
                         : EmbeddedJson(i.parameters_json())},
      {"reason", i.reason()},
      {"incident", i.incident()},
      {"ticket", i.ticket()},
      {"dry_run", i.dry_run()},
      {"mutating", i.mutating()},
      {"outcome", std::string(OutcomeName(r.outcome()))}};
  if (r.has_result()) {
    json["finished_at"] = Rfc3339Millis(r.result().finished_at_ms());
    json["duration_ms"] = r.result().finished_at_ms() - i.started_at_ms();
    json["error_code"] = r.result().error_code();
    json["message"] = r.result().message();
    json["summary"] = r.result().summary();
    // The structured result (a failed restart's attempts and log lines).
    if (!r.result().result_json().empty())
      json["result"] = EmbeddedJson(r.result().result_json());
  }
  return json;
}

}  // namespace opsagent
