#include "controller/audit/audit_record.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"

namespace opsagent {
namespace {

// The names, by value, taken from the enum's own declaration.
const std::vector<std::string>& OutcomeNames() {
  static const auto* const names = [] {
    auto* names = new std::vector<std::string>;
    const google::protobuf::EnumDescriptor* outcomes = v1::Outcome_descriptor();
    for (int i = 0; i < outcomes->value_count(); ++i) {
      const google::protobuf::EnumValueDescriptor* value = outcomes->value(i);
      if (value->number() >= static_cast<int>(names->size()))
        names->resize(value->number() + 1);
      (*names)[value->number()] =
          absl::AsciiStrToLower(absl::StripPrefix(value->name(), "OUTCOME_"));
    }
    return names;
  }();
  return *names;
}

}  // namespace

absl::string_view OutcomeName(v1::Outcome outcome) {
  const std::vector<std::string>& names = OutcomeNames();
  const size_t index = static_cast<size_t>(outcome);
  if (index >= names.size() || names[index].empty()) return "unknown";
  return names[index];
}

std::optional<v1::Outcome> ParseOutcome(absl::string_view name) {
  const std::vector<std::string>& names = OutcomeNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i].empty() && names[i] == name)
      return static_cast<v1::Outcome>(i);
  }
  return std::nullopt;
}

std::string OperatorLabel(const v1::AuditIntent& intent) {
  std::string who =
      intent.cert_identity().empty() ||
              intent.cert_identity() == intent.os_user()
          ? intent.os_user()
          : absl::StrCat(intent.os_user(), "/", intent.cert_identity());
  if (!intent.sudo_user().empty())
    absl::StrAppend(&who, " (sudo claims ", intent.sudo_user(), ")");
  return who;
}

uint64_t RecordedBytes(
    const std::vector<v1::AuditIntent>& intents,
    const std::vector<std::pair<int64_t, v1::AuditResult>>& results) {
  // A row's numbers, flags and indexes, and a chain event's digests.
  constexpr uint64_t kRowBytes = 256;
  constexpr uint64_t kOutcomeBytes = 160;
  uint64_t bytes = 0;
  for (const v1::AuditIntent& intent : intents) {
    bytes += kRowBytes;
    for (const std::string* text :
         {&intent.request_id(), &intent.run_id(), &intent.os_user(),
          &intent.sudo_user(), &intent.cert_identity(), &intent.host(),
          &intent.address(), &intent.operation(), &intent.parameters_json(),
          &intent.reason(), &intent.incident(), &intent.ticket()})
      bytes += text->size();
  }
  for (const auto& [row, result] : results) {
    bytes += kOutcomeBytes;
    for (const std::string* text :
         {&result.error_code(), &result.message(), &result.summary(),
          &result.result_json(), &result.agent_result_sha256(),
          &result.agent_signature()})
      bytes += text->size();
  }
  return bytes;
}

}  // namespace opsagent
