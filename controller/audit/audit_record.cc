#include "controller/audit/audit_record.h"

#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

constexpr std::pair<AuditOutcome, absl::string_view> kNames[] = {
    {AuditOutcome::kPending, "pending"},
    {AuditOutcome::kOk, "ok"},
    {AuditOutcome::kError, "error"},
    {AuditOutcome::kDenied, "denied"},
    {AuditOutcome::kUnreachable, "unreachable"},
    {AuditOutcome::kUnknown, "unknown"},
};

}  // namespace

absl::string_view AuditOutcomeName(AuditOutcome outcome) {
  for (const auto& [value, name] : kNames) {
    if (value == outcome) return name;
  }
  return "unknown";
}

std::optional<AuditOutcome> ParseAuditOutcome(absl::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (known == name) return value;
  }
  return std::nullopt;
}

std::string OperatorLabel(const AuditIntent& intent) {
  std::string who =
      intent.cert_identity.empty() || intent.cert_identity == intent.os_user
          ? intent.os_user
          : absl::StrCat(intent.os_user, "/", intent.cert_identity);
  if (!intent.sudo_user.empty())
    absl::StrAppend(&who, " (sudo claims ", intent.sudo_user, ")");
  return who;
}

uint64_t RecordedBytes(
    const std::vector<AuditIntent>& intents,
    const std::vector<std::pair<int64_t, AuditResult>>& results) {
  // A row's numbers, flags and indexes, and a chain event's digests.
  constexpr uint64_t kRowBytes = 256;
  constexpr uint64_t kOutcomeBytes = 160;
  uint64_t bytes = 0;
  for (const AuditIntent& intent : intents) {
    bytes += kRowBytes;
    for (const std::string* text :
         {&intent.request_id, &intent.run_id, &intent.os_user,
          &intent.sudo_user, &intent.cert_identity, &intent.host,
          &intent.address, &intent.operation, &intent.parameters_json,
          &intent.reason, &intent.incident, &intent.ticket})
      bytes += text->size();
  }
  for (const auto& [row, result] : results) {
    bytes += kOutcomeBytes;
    for (const std::string* text :
         {&result.error_code, &result.message, &result.summary,
          &result.result_json, &result.agent_result_sha256,
          &result.agent_signature})
      bytes += text->size();
  }
  return bytes;
}

}  // namespace opsagent
