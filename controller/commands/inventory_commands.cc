// Inventory commands: hosts.

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "controller/commands/command.h"
#include "controller/exit_codes.h"
#include "controller/output/table.h"

namespace opsagent {
namespace {

std::string Ago(int64_t unix_ms) {
  if (unix_ms == 0) return "never";
  const absl::Duration ago = absl::Trunc(
      absl::Now() - absl::FromUnixMillis(unix_ms), absl::Seconds(1));
  return ago < absl::Seconds(1)
             ? "now"
             : absl::StrCat(absl::FormatDuration(ago), " ago");
}

// "in 4d 3h" (whole hours), "expired", or "-" when unknown.
std::string In(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  const absl::Duration left = absl::FromUnixMillis(unix_ms) - absl::Now();
  if (left <= absl::ZeroDuration()) return "expired";
  const int64_t hours = absl::ToInt64Hours(left);
  if (hours < 1) return absl::StrCat("in ", absl::ToInt64Minutes(left), "m");
  if (hours < 48) return absl::StrCat("in ", hours, "h");
  return absl::StrCat("in ", hours / 24, "d ", hours % 24, "h");
}

// The controller's live inventory: each host's link, when it was last
// heard from, its agent's version.
int RunLiveHosts(Invocation& invocation) {
  absl::StatusOr<v1::ListHostsReply> reply = invocation.AskController(
      &ControllerStub::ListHosts, v1::ListHostsRequest());
  if (!reply.ok()) {
    return CommandFailed(invocation, ExitCodeForControllerError(reply.status()),
                         reply.status().message());
  }
  if (invocation.output() == OutputFormat::kJson) {
    // Each host says which controller answered (one of several).
    const std::string controller = (*invocation.controller())->address();
    std::vector<std::string> hosts;
    for (const v1::HostState& host : reply->hosts()) {
      nlohmann::ordered_json json = EmbeddedJson(ProtoToJson(host));
      json["controller"] = controller;
      hosts.push_back(DumpJson(json));
    }
    std::fprintf(invocation.out(), "[%s]\n", absl::StrJoin(hosts, ",").c_str());
    return kExitOk;
  }
  TextTable table({"HOST", "STATE", "LAST SEEN", "VERSION", "ENVIRONMENT",
                   "ROLES", "CERT EXPIRES", "ADDRESS"});
  int connected = 0;
  for (const v1::HostState& host : reply->hosts()) {
    connected += host.connected() ? 1 : 0;
    table.AddRow({host.name(),
                  host.connected()                ? "connected"
                  : host.last_seen_unix_ms() != 0 ? "disconnected"
                                                  : "never connected",
                  Ago(host.last_seen_unix_ms()), host.agent_version(),
                  host.environment(), absl::StrJoin(host.roles(), ","),
                  In(host.certificate_not_after_unix_ms()), host.address()});
  }
  std::fprintf(invocation.out(), "%s", table.Render().c_str());
  std::fprintf(invocation.err(),
               "%d of %d hosts connected to the controller %s\n", connected,
               reply->hosts_size(),
               (*invocation.controller())->address().c_str());
  return kExitOk;
}

int RunHosts(Invocation& invocation, const ParsedArgs& /*args*/) {
  if (invocation.via_controller()) return RunLiveHosts(invocation);
  absl::StatusOr<const Inventory*> inventory = invocation.inventory();
  if (!inventory.ok()) {
    return CommandFailed(invocation, kExitUsage, inventory.status().message());
  }
  if (invocation.output() == OutputFormat::kJson) {
    std::vector<std::string> hosts;
    for (const v1::Host& host : (*inventory)->hosts())
      hosts.push_back(ProtoToJson(host));
    std::fprintf(invocation.out(), "[%s]\n", absl::StrJoin(hosts, ",").c_str());
    return kExitOk;
  }
  TextTable table({"HOST", "ADDRESS", "ENVIRONMENT", "ROLES"});
  for (const v1::Host& host : (*inventory)->hosts()) {
    table.AddRow({host.name(), host.address(), host.environment(),
                  absl::StrJoin(host.roles(), ",")});
  }
  std::fprintf(invocation.out(), "%s", table.Render().c_str());
  return kExitOk;
}

}  // namespace

namespace {

std::vector<Command> InventoryCommands() {
  return {
      {"hosts",
       "",
       "list the hosts: connected or not, last seen, version, roles",
       "Through the controller: every host its static inventory lists or "
       "that is\n"
       "connected now, with its link's state (connected, disconnected), "
       "when it was\n"
       "last heard from and its agent's version. With --direct (or no "
       "controller):\n"
       "the hosts of the local inventory file. A host's name must match the "
       "DNS name\n"
       "in its agent certificate.\n\n"
       "Example:\n  opsctl hosts --output json\n",
       {},
       0,
       0,
       RunHosts}};
}

}  // namespace

OPSCTL_COMMANDS(kHosts, InventoryCommands);

}  // namespace opsagent
