#include "controller/inventory.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/text_proto_file.h"

namespace opsagent {

absl::StatusOr<Inventory> Inventory::Load(const std::string& path) {
  v1::Inventory proto;
  if (absl::Status status = LoadTextProtoFile(path, &proto); !status.ok())
    return status;
  return FromProto(std::move(proto), path);
}

absl::StatusOr<Inventory> Inventory::FromProto(v1::Inventory proto,
                                               const std::string& origin) {
  absl::flat_hash_set<std::string> names;
  std::vector<v1::Host> hosts;
  for (int i = 0; i < proto.host_size(); ++i) {
    const v1::Host& host = proto.host(i);
    const std::string where = absl::StrCat(origin, ": host[", i, "]");
    if (host.name().empty())
      return absl::InvalidArgumentError(absl::StrCat(where, " has no name"));
    if (!names.insert(host.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": name ", host.name(), " is used twice"));
    }
    const size_t colon = host.address().rfind(':');
    int port;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(host.address().substr(colon + 1), &port) ||
        port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " (", host.name(), "): address \"",
                       host.address(), "\" is not HOST:PORT"));
    }
    hosts.push_back(host);
  }
  return Inventory(std::move(hosts));
}

absl::StatusOr<v1::Host> Inventory::Find(absl::string_view name) const {
  std::vector<std::string> similar;
  for (const v1::Host& host : hosts_) {
    if (host.name() == name) return host;
    if (absl::StrContains(host.name(), name) ||
        absl::StrContains(name, host.name())) {
      similar.push_back(host.name());
    }
  }
  std::string hint =
      similar.empty()
          ? " (see `opsctl hosts`)"
          : absl::StrCat("; did you mean ", absl::StrJoin(similar, ", "), "?");
  return absl::NotFoundError(
      absl::StrCat("host \"", name, "\" is not in the inventory", hint));
}

}  // namespace opsagent
