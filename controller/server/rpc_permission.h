#ifndef OPSAGENT_CONTROLLER_SERVER_RPC_PERMISSION_H_
#define OPSAGENT_CONTROLLER_SERVER_RPC_PERMISSION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// The permission controller.proto declares on each Controller RPC
// (`option (permission) = "audit"`): the one place it is written. The
// opening every call shares checks it, opsctld's access rules may grant
// exactly these (and "*"), and opsctld refuses to start if an RPC declares
// none.

// The permission the RPC named `rpc` ("ListHosts") declares; "" for a name
// that is no RPC of Controller or declares none, which no rule grants.
std::string DeclaredPermission(absl::string_view rpc);

// Every permission some RPC declares, sorted, without repeats.
const std::vector<std::string>& DeclaredPermissions();

// OK when every RPC of Controller declares a permission; otherwise
// INTERNAL naming the first that does not (a build with a new RPC left
// open).
absl::Status CheckDeclaredPermissions();

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_RPC_PERMISSION_H_
