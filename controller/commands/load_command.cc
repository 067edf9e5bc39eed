// `opsctl load`: the load averages like `uptime`, against the CPUs there
// are, and what the load waits for (CPU, memory or I/O pressure).

#include <cstdio>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/table.h"
#include "controller/result_summary.h"

namespace opsagent {
namespace {

double LoadPerCpu(const v1::LoadReply& r) {
  return r.cpus() == 0 ? r.load1() : r.load1() / r.cpus();
}

void PrintLoad(FILE* out, const v1::LoadReply& r) {
  std::fprintf(out,
               "load average: %.2f, %.2f, %.2f on %u CPUs (%.2f per CPU); "
               "%u of %u tasks runnable\n",
               r.load1(), r.load5(), r.load15(), r.cpus(), LoadPerCpu(r),
               r.runnable_tasks(), r.total_tasks());
  if (!r.has_cpu() && !r.has_memory() && !r.has_io()) {
    std::fprintf(out, "pressure: not kept by this host's kernel\n");
    return;
  }
  TextTable pressure(
      {"PRESSURE", "SOME 10s", "60s", "300s", "FULL 10s", "60s", "300s"},
      {1, 2, 3, 4, 5, 6});
  for (const auto& [name, p] :
       {std::pair{"cpu", &r.cpu()}, {"memory", &r.memory()}, {"io", &r.io()}}) {
    pressure.AddRow({name, absl::StrFormat("%.2f%%", p->some_avg10()),
                     absl::StrFormat("%.2f%%", p->some_avg60()),
                     absl::StrFormat("%.2f%%", p->some_avg300()),
                     absl::StrFormat("%.2f%%", p->full_avg10()),
                     absl::StrFormat("%.2f%%", p->full_avg60()),
                     absl::StrFormat("%.2f%%", p->full_avg300())});
  }
  std::fprintf(out, "\n%s", pressure.Render().c_str());
}

std::string LoadSummary(const v1::LoadReply& r) {
  std::string summary =
      absl::StrFormat("load %.2f %.2f %.2f on %u CPUs", r.load1(), r.load5(),
                      r.load15(), r.cpus());
  if (r.has_memory() || r.has_io()) {
    absl::StrAppend(
        &summary, absl::StrFormat("; waiting 10s: cpu %.1f%%, memory "
                                  "%.1f%%, io %.1f%%",
                                  r.cpu().some_avg10(), r.memory().some_avg10(),
                                  r.io().some_avg10()));
  }
  return summary;
}

// A plain decimal from 0.01 to 1000 ("1.5"): no hex, exponent or sign.
bool ParsePerCpu(absl::string_view text, double* value) {
  if (text.empty() || text.size() > 8 ||
      !absl::c_all_of(
          text, [](char c) { return absl::ascii_isdigit(c) || c == '.'; }) ||
      absl::c_count(text, '.') > 1)
    return false;
  return absl::SimpleAtod(text, value) && *value >= 0.01 && *value <= 1000;
}

int RunLoad(Invocation& invocation, const ParsedArgs& args) {
  double max_per_cpu = 0;
  if (args.Has("max-per-cpu") &&
      !ParsePerCpu(args.Get("max-per-cpu"), &max_per_cpu)) {
    return CommandFailed(invocation, kExitUsage,
                         "--max-per-cpu takes a number from 0.01 to 1000 "
                         "(e.g. 1.5)");
  }
  return RunOperation(
      invocation, args.positional()[0],
      {&OperationFor<v1::LoadRequest>(), std::make_shared<v1::LoadRequest>()},
      Present<v1::LoadReply>(&PrintLoad, [max_per_cpu](const v1::LoadReply& r) {
        if (max_per_cpu == 0 || LoadPerCpu(r) <= max_per_cpu)
          return absl::OkStatus();
        return absl::FailedPreconditionError(absl::StrFormat(
            "load %.2f per CPU is above %g", LoadPerCpu(r), max_per_cpu));
      }));
}

const bool kSummary = RegisterResultSummaryOf<v1::LoadReply>(&LoadSummary);

Command LoadCommand() {
  return {"load",
          "HOST",
          "load averages like `uptime`, per CPU, and CPU/memory/I/O pressure",
          "Shows the 1, 5 and 15 minute load averages on HOST against its "
          "CPUs, the\n"
          "runnable tasks, and the kernel's pressure stall information: the "
          "share of time\n"
          "in which tasks waited for CPU, memory or I/O (`some`: at least "
          "one task;\n"
          "`full`: all of them). A high load with memory pressure is a "
          "host swapping,\n"
          "with I/O pressure a disk that cannot keep up.\n\n"
          "Examples:\n  opsctl load xqwatcher-1\n"
          "  opsctl load role:xqwatcher --max-per-cpu 2 --output json\n",
          {{"max-per-cpu", "X",
            "exit 7 if the 1-minute load per CPU is above X (e.g. 1.5)"}},
          1,
          1,
          RunLoad};
}

}  // namespace

OPSCTL_COMMAND(kInspection, LoadCommand);

}  // namespace opsagent
