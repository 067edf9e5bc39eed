// `opsctl du`: the largest directories and files under a path, like `du -x |
// sort -hr | head`.

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/human_size.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/terminal.h"
#include "controller/result_summary.h"

namespace opsagent {
namespace {

void PrintDiskUsage(FILE* out, const v1::DiskUsageEvent& event) {
  const v1::DiskUsageResult& r = event.result();
  for (const v1::PathUsage& dir : r.largest_directories()) {
    std::fprintf(out, "%s\t%s\n", FormatHumanSize(dir.disk_bytes()).c_str(),
                 Shown(dir.path()).c_str());
  }
  std::fprintf(out, "\nlargest files:\n");
  for (const v1::PathUsage& file : r.largest_files()) {
    std::fprintf(out, "%s\t%s\n", FormatHumanSize(file.disk_bytes()).c_str(),
                 Shown(file.path()).c_str());
  }
  std::fprintf(out,
               "\n%s in %llu files and %llu directories, scanned in %lld ms\n",
               FormatHumanSize(r.disk_bytes()).c_str(),
               static_cast<unsigned long long>(r.files()),
               static_cast<unsigned long long>(r.directories()),
               static_cast<long long>(r.elapsed_ms()));
  if (r.skipped_entries() > 0) {
    std::fprintf(out,
                 "skipped %llu entries (other filesystems or unreadable)\n",
                 static_cast<unsigned long long>(r.skipped_entries()));
  }
  for (const std::string& error : r.errors())
    std::fprintf(out, "  %s\n", Shown(error).c_str());
  if (r.incomplete())
    std::fprintf(out, "INCOMPLETE: %s; figures cover only what was scanned\n",
                 Shown(r.incomplete_reason()).c_str());
}

std::string DiskUsageSummary(const v1::DiskUsageEvent& event) {
  const v1::DiskUsageResult& r = event.result();
  std::string summary =
      absl::StrCat(r.path(), " ", FormatHumanSize(r.disk_bytes()));
  if (r.largest_files_size() > 0) {
    absl::StrAppend(&summary, "; largest file ", r.largest_files(0).path(), " ",
                    FormatHumanSize(r.largest_files(0).disk_bytes()));
  }
  if (r.incomplete())
    absl::StrAppend(&summary, " (incomplete: ", r.incomplete_reason(), ")");
  return summary;
}

int RunDu(Invocation& invocation, const ParsedArgs& args) {
  absl::StatusOr<uint32_t> top = CountFlag(args, "top");
  if (!top.ok())
    return CommandFailed(invocation, kExitUsage, top.status().message());
  uint64_t max_entries = 0;
  if (args.Has("max-entries") &&
      (!absl::SimpleAtoi(args.Get("max-entries"), &max_entries) ||
       max_entries == 0)) {
    return CommandFailed(invocation, kExitUsage,
                         "--max-entries takes a positive number");
  }
  const std::string path = args.positional()[1];
  auto request = std::make_shared<v1::DiskUsageRequest>();
  request->set_path(path);
  request->set_top_directories(*top);
  request->set_top_files(*top);
  request->set_max_entries(max_entries);
  const bool show_progress = invocation.ShowsProgress();
  Presentation presentation = Present(&PrintDiskUsage);
  presentation.on_event = [show_progress, path](
                              FILE*, const google::protobuf::Message& m) {
    const auto& event = static_cast<const v1::DiskUsageEvent&>(m);
    if (!show_progress) return;
    if (event.has_progress()) {
      ShowProgress(absl::StrCat(
          "scanning ", path, ": ", event.progress().entries_scanned(),
          " entries, ", FormatHumanSize(event.progress().disk_bytes_scanned()),
          " so far "));
    } else {
      ClearProgress();
    }
  };
  return RunOperation(invocation, args.positional()[0],
                      {&OperationFor<v1::DiskUsageRequest>(), request},
                      presentation);
}

const bool kSummary =
    RegisterResultSummaryOf<v1::DiskUsageEvent>(&DiskUsageSummary);

Command DuCommand() {
  return {
      "du",
      "HOST PATH",
      "largest directories and files under PATH, like `du -x | sort -hr | "
      "head`",
      "Scans PATH on HOST (which must lie under one of the agent's inspection "
      "roots)\n"
      "without leaving its filesystem or following symlinks, and lists the "
      "largest\n"
      "directories and files. Long scans show progress; the agent stops at "
      "its entry\n"
      "budget or deadline and says the result is incomplete.\n\n"
      "Example:\n  opsctl du xqwatcher-1 /edx/var --top 5\n",
      {{"top", "N", "how many directories and files to list (default 10)"},
       {"max-entries", "N",
        "stop after N entries (the agent's own limit still applies)"}},
      2,
      2,
      RunDu};
}

}  // namespace

OPSCTL_COMMAND(kInspection, DuCommand);

}  // namespace opsagent
