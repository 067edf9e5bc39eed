#ifndef OPSAGENT_AGENT_SERVER_AUTHORIZER_H_
#define OPSAGENT_AGENT_SERVER_AUTHORIZER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/tls/peer_identity.h"
#include "opsagent/v1/agent_config.pb.h"

namespace opsagent {

// Decides, deny by default, whether a verified caller may invoke an
// operation, from the agent configuration's authorization rules. Debian's
// gRPC 1.51 does not ship gRPC's authorization-policy provider, hence this.
// A caller with the automation role (PeerIdentity::IsAutomation) is
// read-only: it is refused every operation that changes the host (but
// run_command, whose commands each declare read_only) and is granted only
// by rules that name the role itself.
class Authorizer {
 public:
  explicit Authorizer(std::vector<v1::AuthorizationRule> rules)
      : rules_(std::move(rules)) {}

  // OK, or PERMISSION_DENIED naming the caller and the operation.
  absl::Status Authorize(const PeerIdentity& caller,
                         absl::string_view operation) const;

  // The registered operations `caller` may invoke, in registry order.
  std::vector<std::string> AllowedOperations(const PeerIdentity& caller) const;

 private:
  bool Allows(const PeerIdentity& caller, absl::string_view operation) const;

  std::vector<v1::AuthorizationRule> rules_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_AUTHORIZER_H_
