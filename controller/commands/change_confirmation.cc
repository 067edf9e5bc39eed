#include "controller/commands/change_confirmation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/commands/fleet.h"
#include "controller/commands/run_operation.h"

namespace opsagent {

const FlagSpec& YesFlag() {
  static const FlagSpec* flag = new FlagSpec{
      "yes", "",
      "do not ask for confirmation (required when not on a terminal)"};
  return *flag;
}

const FlagSpec& DryRunFlag() {
  static const FlagSpec* flag = new FlagSpec{
      "dry-run", "", "report exactly what would happen; change nothing"};
  return *flag;
}

absl::Status ConfirmOnHosts(Invocation& invocation, const ParsedArgs& args,
                            absl::string_view what, std::string* target) {
  if (args.Has("dry-run")) return absl::OkStatus();
  if (args.Has("yes") || IsOneHostName(*target))
    return invocation.Confirm(absl::StrCat(what, " on ", *target, "?"),
                              args.Has("yes"));
  absl::StatusOr<std::vector<std::string>> hosts =
      FleetOf(invocation)->SelectHostNames(*target);
  if (!hosts.ok()) return hosts.status();
  if (absl::Status confirmed = invocation.Confirm(
          absl::StrCat(what, " on ", hosts->size(),
                       hosts->size() == 1 ? " host: " : " hosts: ",
                       absl::StrJoin(*hosts, ", "), " (", *target, ")?"),
          false);
      !confirmed.ok())
    return confirmed;
  *target = absl::StrJoin(*hosts, ",");
  return absl::OkStatus();
}

}  // namespace opsagent
