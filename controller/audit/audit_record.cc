#include "controller/audit/audit_record.h"

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

}  // namespace opsagent
