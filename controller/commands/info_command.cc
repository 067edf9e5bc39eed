// `opsctl info`: asks the agent who it is and what the caller may do there.

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/output/terminal.h"
#include "controller/output/timestamps.h"
#include "controller/result_summary.h"

namespace opsagent {
namespace {

// What a vetted command's parameter takes, as `opsctl exec` wants it:
// "<one of a|b>", "<integer 1..10>", "<matching ^[a-z]+$>", "<course id>".
std::string ParameterForm(const v1::CommandParameter& param) {
  switch (param.type()) {
    case v1::CommandParameter::ENUM:
      return absl::StrCat("<one of ", absl::StrJoin(param.values(), "|"), ">");
    case v1::CommandParameter::INTEGER:
      return absl::StrCat("<integer ", param.min(), "..", param.max(), ">");
    case v1::CommandParameter::REGEX:
      return absl::StrCat("<matching ", param.pattern(), ">");
    case v1::CommandParameter::COURSE_ID:
      return "<course-v1:ORG+COURSE+RUN>";
    default:
      return "<value>";
  }
}

void PrintInfo(FILE* out, const v1::InfoReply& r) {
  const absl::Time expiry =
      absl::FromUnixSeconds(r.certificate_not_after_unix());
  std::fprintf(out, "host:              %s\n", Shown(r.hostname()).c_str());
  std::fprintf(out, "roles:             %s\n",
               Shown(absl::StrJoin(r.roles(), ", ")).c_str());
  std::fprintf(out, "agent version:     %s\n",
               Shown(r.agent_version()).c_str());
  std::fprintf(out, "agent uptime:      %s\n",
               SecondsShown(r.agent_uptime_seconds()).c_str());
  std::fprintf(out, "host uptime:       %s\n",
               SecondsShown(r.host_uptime_seconds()).c_str());
  std::fprintf(out, "kernel:            %s\n",
               Shown(r.kernel_release()).c_str());
  std::fprintf(
      out, "certificate until: %s (%s left)\n",
      absl::FormatTime(absl::RFC3339_sec, expiry, absl::UTCTimeZone()).c_str(),
      absl::FormatDuration(absl::Floor(expiry - absl::Now(), absl::Hours(1)))
          .c_str());
  std::fprintf(out, "inspection roots:  %s\n",
               Shown(absl::StrJoin(r.inspection_roots(), " ")).c_str());
  std::fprintf(out, "you are:           %s (%s)\n",
               Shown(r.caller_identity()).c_str(),
               Shown(absl::StrJoin(r.caller_roles(), ", ")).c_str());
  std::fprintf(out, "you may call:      %s\n",
               Shown(absl::StrJoin(r.caller_operations(), ", ")).c_str());
  std::fprintf(out, "truncatable logs:  %s\n",
               r.truncatable_logs().empty()
                   ? "none"
                   : Shown(absl::StrJoin(r.truncatable_logs(), " ")).c_str());
  std::vector<std::string> services;
  for (const v1::AllowedService& service : r.restartable()) {
    services.push_back(absl::StrCat(
        service.name(),
        service.manager() == v1::SUPERVISOR_PROGRAM ? " (supervisor)" : ""));
  }
  std::fprintf(
      out, "restartable:       %s\n",
      services.empty() ? "none" : Shown(absl::StrJoin(services, ", ")).c_str());
  std::fprintf(out, "vetted commands:   %s\n",
               r.commands().empty() ? "none" : "");
  for (const v1::AllowedCommand& command : r.commands()) {
    std::fprintf(out, "  %s%s%s%s\n", Shown(command.name()).c_str(),
                 command.read_only() ? " (read-only)" : "",
                 command.description().empty() ? "" : ": ",
                 Shown(command.description()).c_str());
    for (const v1::CommandParameter& param : command.params()) {
      std::fprintf(out, "      %s=%s%s%s\n", Shown(param.name()).c_str(),
                   Shown(ParameterForm(param)).c_str(),
                   param.description().empty() ? "" : "  ",
                   Shown(param.description()).c_str());
    }
  }
}

std::string InfoSummary(const v1::InfoReply& r) {
  return absl::StrCat("opsagent ", r.agent_version(), " on ", r.hostname());
}

int RunInfo(Invocation& invocation, const ParsedArgs& args) {
  return RunOperation(
      invocation, args.positional()[0],
      {&OperationFor<v1::InfoRequest>(), std::make_shared<v1::InfoRequest>()},
      Present(&PrintInfo));
}

const bool kSummary = RegisterResultSummaryOf<v1::InfoReply>(&InfoSummary);

Command InfoCommand() {
  return {
      "info",
      "HOST",
      "agent version, host, uptime, certificate expiry, and what you may call",
      "Asks the agent who it is and what you are allowed to do there.\n\n"
      "Example:\n  opsctl info salt-qa\n",
      {},
      1,
      1,
      RunInfo};
}

}  // namespace

OPSCTL_COMMAND(kInspection, InfoCommand);

}  // namespace opsagent
