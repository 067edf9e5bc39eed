#ifndef OPSAGENT_CONTROLLER_SERVER_CONTROLLER_ACCESS_H_
#define OPSAGENT_CONTROLLER_SERVER_CONTROLLER_ACCESS_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/tls/peer_identity.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// Who may use the controller for what ("run", "hosts", "audit"), from the
// configuration's access rules; deny by default. It decides only whether
// the controller serves an operator: what the operator may do on a host is
// decided by that host's agent.
class ControllerAccess {
 public:
  explicit ControllerAccess(std::vector<v1::ControllerAccessRule> rules)
      : rules_(std::move(rules)) {}

  // PERMISSION_DENIED naming the operator and the permission, unless a
  // rule grants it.
  absl::Status Check(const PeerIdentity& caller,
                     absl::string_view permission) const;

 private:
  std::vector<v1::ControllerAccessRule> rules_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_CONTROLLER_ACCESS_H_
