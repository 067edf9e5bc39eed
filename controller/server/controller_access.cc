#include "controller/server/controller_access.h"

#include "absl/strings/str_cat.h"
#include "common/tls/access_rule.h"

namespace opsagent {

absl::Status ControllerAccess::Check(const PeerIdentity& caller,
                                     absl::string_view permission) const {
  for (const v1::ControllerAccessRule& rule : rules_) {
    if (RuleAppliesTo(rule.identities(), rule.roles(), caller) &&
        RuleGrants(rule.permissions(), permission))
      return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(caller.ToString(), " may not use the controller for \"",
                   permission, "\" (no access rule grants it)"));
}

}  // namespace opsagent
