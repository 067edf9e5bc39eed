#ifndef OPSAGENT_COMMON_TLS_ACCESS_RULE_H_
#define OPSAGENT_COMMON_TLS_ACCESS_RULE_H_

#include <algorithm>

#include "absl/strings/string_view.h"
#include "common/tls/peer_identity.h"

namespace opsagent {

// What the agent's authorization rules (operations) and the controller's
// access rules (permissions) share: a rule applies to a caller whose
// certificate name it lists among `identities`, or one of whose roles it
// lists among `roles`; and it grants what it lists, or everything with "*".
// `List` is a repeated string field or any container of strings.

template <typename List>
bool RuleAppliesTo(const List& identities, const List& roles,
                   const PeerIdentity& caller) {
  const auto lists = [](const List& list, absl::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  return lists(identities, caller.name) ||
         std::any_of(
             caller.roles.begin(), caller.roles.end(),
             [&](const std::string& role) { return lists(roles, role); });
}

template <typename List>
bool RuleGrants(const List& granted, absl::string_view what) {
  return std::any_of(granted.begin(), granted.end(), [&](const auto& item) {
    return item == what || item == "*";
  });
}

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_ACCESS_RULE_H_
