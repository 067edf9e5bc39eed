// Inventory commands: hosts.

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/commands/command.h"
#include "controller/exit_codes.h"
#include "controller/output/json.h"
#include "controller/output/table.h"

namespace opsagent {
namespace {

int RunHosts(Invocation& invocation, const ParsedArgs& /*args*/) {
  absl::StatusOr<const Inventory*> inventory = invocation.inventory();
  if (!inventory.ok()) {
    return CommandFailed(kExitUsage, inventory.status().message());
  }
  if (invocation.output() == OutputFormat::kJson) {
    std::vector<std::string> hosts;
    for (const v1::Host& host : (*inventory)->hosts())
      hosts.push_back(ProtoToJson(host));
    std::printf("[%s]\n", absl::StrJoin(hosts, ",").c_str());
    return kExitOk;
  }
  TextTable table({"HOST", "ADDRESS", "ENVIRONMENT", "ROLES"});
  for (const v1::Host& host : (*inventory)->hosts()) {
    table.AddRow({host.name(), host.address(), host.environment(),
                  absl::StrJoin(host.roles(), ",")});
  }
  std::printf("%s", table.Render().c_str());
  return kExitOk;
}

}  // namespace

std::vector<Command> InventoryCommands() {
  return {
      {"hosts",
       "",
       "list the inventory: host names, agent addresses, environments, roles",
       "Lists the hosts opsctl knows from the inventory file named in the "
       "operator\n"
       "config. A host's name must match the DNS name in its agent "
       "certificate.\n\n"
       "Example:\n  opsctl hosts --output json\n",
       {},
       0,
       0,
       RunHosts}};
}

}  // namespace opsagent
