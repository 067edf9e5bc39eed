#include "controller/commands/audit_query.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/audit/audit_entry.h"

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

absl::StatusOr<std::vector<AuditRecord>> QueryAuditLog(
    Invocation& invocation, const AuditFilter& filter, bool without_results) {
  if (!invocation.via_controller()) {
    absl::StatusOr<AuditStore*> store = invocation.audit();
    if (!store.ok()) return store.status();
    return (*store)->Query(filter);
  }
  v1::AuditQuery query = ToAuditQuery(filter);
  query.set_omit_result_json(without_results);
  absl::StatusOr<v1::AuditQueryReply> reply = invocation.AskController(
      &ControllerStub::QueryAudit, query, absl::Minutes(1));
  if (!reply.ok()) return reply.status();
  std::vector<AuditRecord> records;
  for (const v1::AuditEntry& entry : reply->entries()) {
    absl::StatusOr<AuditRecord> record = FromAuditEntry(entry);
    if (!record.ok()) return record.status();
    records.push_back(*std::move(record));
  }
  return records;
}

}  // namespace opsagent
