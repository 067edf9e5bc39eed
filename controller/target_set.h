#ifndef OPSAGENT_CONTROLLER_TARGET_SET_H_
#define OPSAGENT_CONTROLLER_TARGET_SET_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/inventory.h"

namespace opsagent {

// Selects inventory hosts with a target expression: comma-separated terms,
// each a host name or glob ("reddit-production*"), "role:NAME" or
// "env:NAME". Terms of one kind widen the selection (OR); terms of different
// kinds narrow it (AND): "role:salt-master,env:production" is the production
// Salt masters. Hosts come back in inventory order. Selecting nothing is
// NOT_FOUND, with the expression in the message.
absl::StatusOr<std::vector<v1::Host>> SelectHosts(const Inventory& inventory,
                                                  absl::string_view expression);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_TARGET_SET_H_
