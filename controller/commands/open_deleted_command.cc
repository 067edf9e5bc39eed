// `opsctl open-deleted`: deleted files still held open, like `lsof +L1`.

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

void PrintOpenDeleted(FILE* out, const v1::OpenDeletedReply& r) {
  TextTable table({"SIZE", "PID", "COMMAND", "FD", "DELETED FILE"}, {0, 1, 3});
  for (const v1::OpenDeletedFile& f : r.files()) {
    table.AddRow({FormatHumanSize(f.disk_bytes()), absl::StrCat(f.pid()),
                  f.process_name(), absl::StrCat(f.fd()), f.path()});
  }
  std::fprintf(out, "%s", table.Render().c_str());
  if (r.files_not_listed() > 0)
    std::fprintf(out,
                 "... and %llu smaller ones holding %s (--top N lists more)\n",
                 static_cast<unsigned long long>(r.files_not_listed()),
                 FormatHumanSize(r.disk_bytes_not_listed()).c_str());
  std::fprintf(
      out,
      "\n%s held by processes in deleted files; restarting the holder (or "
      "truncating before deleting) frees it\n",
      FormatHumanSize(r.total_disk_bytes()).c_str());
}

std::string OpenDeletedSummary(const v1::OpenDeletedReply& r) {
  return absl::StrCat(r.files_size() + r.files_not_listed(),
                      " deleted files held open, ",
                      FormatHumanSize(r.total_disk_bytes()));
}

int RunOpenDeleted(Invocation& invocation, const ParsedArgs& args) {
  absl::StatusOr<uint32_t> top = CountFlag(args, "top");
  if (!top.ok())
    return CommandFailed(invocation, kExitUsage, top.status().message());
  auto request = std::make_shared<v1::OpenDeletedRequest>();
  request->set_top(*top);
  return RunOperation(invocation, args.positional()[0],
                      {&OperationFor<v1::OpenDeletedRequest>(), request},
                      Present(&PrintOpenDeleted));
}

const bool kSummary =
    RegisterResultSummaryOf<v1::OpenDeletedReply>(&OpenDeletedSummary);

Command OpenDeletedCommand() {
  return {
      "open-deleted",
      "HOST",
      "deleted files still held open (like `lsof +L1`): space only a restart "
      "frees",
      "Lists files whose name was deleted while a process keeps them open, "
      "largest\n"
      "first. Their space is not free until the process closes them: this is "
      "why\n"
      "deleting xqwatcher.log needed a supervisor restart.\n\n"
      "Example:\n  opsctl open-deleted ip-10-7-0-78 --top 20\n",
      {{"top", "N", "how many of the largest to list (default 10)"}},
      1,
      1,
      RunOpenDeleted};
}

}  // namespace

OPSCTL_COMMAND(kInspection, OpenDeletedCommand);

}  // namespace opsagent
