// `opsctl mem`: memory like `free -h`, plus the largest processes.

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/human_size.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/table.h"
#include "controller/result_summary.h"

namespace opsagent {
namespace {

void PrintMemory(FILE* out, const v1::MemoryReply& r) {
  // The layout of procps `free`: a 7-wide label, then 12-wide columns.
  std::fprintf(out, "%-7s%12s%12s%12s%12s%12s%12s\n", "", "total", "used",
               "free", "shared", "buff/cache", "available");
  std::fprintf(out, "%-7s%12s%12s%12s%12s%12s%12s\n",
               "Mem:", FormatHumanSize(r.total_bytes()).c_str(),
               FormatHumanSize(r.used_bytes()).c_str(),
               FormatHumanSize(r.free_bytes()).c_str(),
               FormatHumanSize(r.shared_bytes()).c_str(),
               FormatHumanSize(r.buff_cache_bytes()).c_str(),
               FormatHumanSize(r.available_bytes()).c_str());
  std::fprintf(out, "%-7s%12s%12s%12s\n\n",
               "Swap:", FormatHumanSize(r.swap_total_bytes()).c_str(),
               FormatHumanSize(r.swap_used_bytes()).c_str(),
               FormatHumanSize(r.swap_free_bytes()).c_str());
  TextTable processes({"PID", "UID", "RSS", "COMMAND"}, {0, 1, 2});
  for (const v1::ProcessMemory& p : r.top_processes()) {
    processes.AddRow({absl::StrCat(p.pid()), absl::StrCat(p.uid()),
                      FormatHumanSize(p.rss_bytes()), p.name()});
  }
  std::fprintf(out, "%s", processes.Render().c_str());
}

std::string MemorySummary(const v1::MemoryReply& r) {
  std::string summary =
      absl::StrCat("available ", FormatHumanSize(r.available_bytes()), " of ",
                   FormatHumanSize(r.total_bytes()));
  if (r.top_processes_size() > 0) {
    absl::StrAppend(&summary, "; largest ", r.top_processes(0).name(), " ",
                    FormatHumanSize(r.top_processes(0).rss_bytes()));
  }
  return summary;
}

int RunMem(Invocation& invocation, const ParsedArgs& args) {
  absl::StatusOr<uint32_t> top = CountFlag(args, "top");
  if (!top.ok())
    return CommandFailed(invocation, kExitUsage, top.status().message());
  uint64_t min_available = 0;
  if (args.Has("min-available")) {
    absl::StatusOr<uint64_t> parsed = ParseHumanSize(args.Get("min-available"));
    if (!parsed.ok())
      return CommandFailed(invocation, kExitUsage, parsed.status().message());
    min_available = *parsed;
  }
  auto request = std::make_shared<v1::MemoryRequest>();
  request->set_top_processes(*top);
  return RunOperation(
      invocation, args.positional()[0],
      {&OperationFor<v1::MemoryRequest>(), request},
      Present<v1::MemoryReply>(
          &PrintMemory, [min_available](const v1::MemoryReply& r) {
            if (min_available == 0 || r.available_bytes() >= min_available)
              return absl::OkStatus();
            return absl::FailedPreconditionError(
                absl::StrCat("available ", FormatHumanSize(r.available_bytes()),
                             " is below ", FormatHumanSize(min_available)));
          }));
}

const bool kSummary = RegisterResultSummaryOf<v1::MemoryReply>(&MemorySummary);

Command MemCommand() {
  return {"mem",
          "HOST",
          "memory like `free -h`, plus the largest processes by RSS",
          "Shows what `free -h` shows on HOST, then the processes holding most "
          "resident\n"
          "memory, so that a leaking salt-master is visible at once.\n\n"
          "Example:\n  opsctl mem salt-qa --incident INC-42\n",
          {{"top", "N", "how many processes to list (default 10)"},
           {"min-available", "SIZE",
            "exit 7 if memory available is below SIZE (e.g. 1G)"}},
          1,
          1,
          RunMem};
}

}  // namespace

OPSCTL_COMMAND(kInspection, MemCommand);

}  // namespace opsagent
