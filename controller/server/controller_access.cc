#include "controller/server/controller_access.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list,
              absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

absl::Status ControllerAccess::Check(const PeerIdentity& caller,
                                     absl::string_view permission) const {
  for (const v1::ControllerAccessRule& rule : rules_) {
    bool matches = Contains(rule.identities(), caller.name);
    for (const std::string& role : caller.roles)
      matches = matches || Contains(rule.roles(), role);
    if (matches && (Contains(rule.permissions(), permission) ||
                    Contains(rule.permissions(), "*")))
      return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(caller.ToString(), " may not use the controller for \"",
                   permission, "\" (no access rule grants it)"));
}

}  // namespace opsagent
