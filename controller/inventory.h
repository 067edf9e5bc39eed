#ifndef OPSAGENT_CONTROLLER_INVENTORY_H_
#define OPSAGENT_CONTROLLER_INVENTORY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

// The hosts opsctl may talk to: name, agent address, roles, environment. A
// host's name is also the name its agent certificate must carry.
class Inventory {
 public:
  // Loads and validates an inventory file (unique names, HOST:PORT addresses).
  static absl::StatusOr<Inventory> Load(const std::string& path);
  static absl::StatusOr<Inventory> FromProto(v1::Inventory hosts,
                                             const std::string& origin);

  // The host called `name`; NOT_FOUND lists similar names.
  absl::StatusOr<v1::Host> Find(absl::string_view name) const;

  const std::vector<v1::Host>& hosts() const { return hosts_; }

 private:
  explicit Inventory(std::vector<v1::Host> hosts) : hosts_(std::move(hosts)) {}

  std::vector<v1::Host> hosts_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_INVENTORY_H_
