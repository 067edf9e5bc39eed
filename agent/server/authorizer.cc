#include "agent/server/authorizer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/operation_catalog.h"
#include "common/tls/access_rule.h"

namespace opsagent {

bool Authorizer::Allows(const PeerIdentity& caller,
                        absl::string_view operation) const {
  if (caller.IsAutomation()) {
    // Read-only whatever the rules say, and granted only by a rule naming
    // the role: a certificate that also names "sre" gets nothing from the
    // sre rules. run_command is checked again per command (read_only).
    const OperationInfo* op = FindOperation(operation);
    if (op == nullptr || (op->mutating && !op->read_only_per_declaration))
      return false;
    return std::any_of(
        rules_.begin(), rules_.end(), [&](const v1::AuthorizationRule& rule) {
          return std::find(rule.roles().begin(), rule.roles().end(),
                           kAutomationRole) != rule.roles().end() &&
                 RuleGrants(rule.operations(), operation);
        });
  }
  return std::any_of(
      rules_.begin(), rules_.end(), [&](const v1::AuthorizationRule& rule) {
        return RuleAppliesTo(rule.identities(), rule.roles(), caller) &&
               RuleGrants(rule.operations(), operation);
      });
}

absl::Status Authorizer::Authorize(const PeerIdentity& caller,
                                   absl::string_view operation) const {
  if (Allows(caller, operation)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(caller.ToString(),
                                                  " is not allowed to call ",
                                                  operation, " on this agent"));
}

std::vector<std::string> Authorizer::AllowedOperations(
    const PeerIdentity& caller) const {
  std::vector<std::string> allowed;
  for (const OperationInfo* op : AllOperations()) {
    if (Allows(caller, op->name)) allowed.emplace_back(op->name);
  }
  return allowed;
}

}  // namespace opsagent
