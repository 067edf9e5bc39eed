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

}  // namespace opsagent
