// `opsctl truncate`: truncates an allow-listed log file in place.

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/human_size.h"
#include "common/operation_catalog.h"
#include "controller/commands/change_confirmation.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/terminal.h"

namespace opsagent {
namespace {

void PrintTruncation(FILE* out, const v1::TruncateLogReply& r) {
  std::fprintf(out, "%s%s\n", r.dry_run() ? "DRY RUN: " : "",
               Shown(r.summary()).c_str());
  for (const std::string& warning : r.warnings())
    std::fprintf(out, "WARNING: %s\n", Shown(warning).c_str());
  if (!r.dry_run()) {
    std::fprintf(
        out,
        "size %s -> %s (%s on disk); file freed %s; filesystem gained %s\n",
        FormatHumanSize(r.size_before_bytes()).c_str(),
        FormatHumanSize(r.size_after_bytes()).c_str(),
        FormatHumanSize(r.allocated_after_bytes()).c_str(),
        FormatHumanSize(r.file_freed_bytes()).c_str(),
        FormatHumanSize(r.filesystem_freed_bytes()).c_str());
  }
}

int RunTruncate(Invocation& invocation, const ParsedArgs& args) {
  std::string host = args.positional()[0];
  auto request = std::make_shared<v1::TruncateLogRequest>();
  request->set_path(args.positional()[1]);
  if (args.Has("keep-tail")) {
    absl::StatusOr<uint64_t> parsed = ParseHumanSize(args.Get("keep-tail"));
    if (!parsed.ok())
      return CommandFailed(invocation, kExitUsage, parsed.status().message());
    request->set_keep_tail_bytes(*parsed);
  }
  const uint64_t keep = request->keep_tail_bytes();
  if (absl::Status confirmed = ConfirmOnHosts(
          invocation, args,
          absl::StrCat("Truncate ", request->path(),
                       keep > 0 ? absl::StrCat(" (keeping the last ",
                                               FormatHumanSize(keep), ")")
                                : ""),
          &host);
      !confirmed.ok())
    return CommandFailed(invocation,
                         ExitCodeForControllerError(confirmed, kExitUsage),
                         confirmed.message());
  return RunOperation(
      invocation, host,
      {&OperationFor<v1::TruncateLogRequest>(), request, args.Has("dry-run")},
      Present(&PrintTruncation));
}

Command TruncateCommand() {
  return {
      "truncate",
      "HOST PATH",
      "truncate an allow-listed log in place, freeing its space at once",
      "Empties PATH (or keeps its last --keep-tail bytes) through the "
      "descriptor the\n"
      "agent checked: a regular file with one name, matching the agent's\n"
      "truncatable_logs, reached without following symlinks. The file is "
      "never\n"
      "deleted, so a process writing to it frees the space now, not at its "
      "next\n"
      "restart. Reports the space freed and who holds the file open, and "
      "warns\n"
      "about holders that write without O_APPEND (the file then grows back "
      "sparse\n"
      "to its old apparent size). With --keep-tail, at least SIZE is kept: "
      "ext4 and\n"
      "XFS cut the head out in whole blocks (up to one block, 4 KiB, more), "
      "other\n"
      "filesystems get the tail copied back after the file is emptied, so a "
      "full\n"
      "disk never leaves a half-overwritten file.\n\n"
      "Examples:\n"
      "  opsctl truncate ip-10-7-0-78 /edx/var/log/xqwatcher/xqwatcher.log "
      "--dry-run\n"
      "  opsctl truncate ip-10-7-0-78 /edx/var/log/xqwatcher/xqwatcher.log "
      "--keep-tail 10M \\\n"
      "      --incident INC-42 --reason \"DiskUsageWarning xqwatcher\"\n",
      {{"keep-tail", "SIZE",
        "keep (at least) the last SIZE of the log (e.g. 10M; at most 64M)"},
       DryRunFlag(),
       YesFlag()},
      2,
      2,
      RunTruncate};
}

}  // namespace

OPSCTL_COMMAND(kChanges, TruncateCommand);

}  // namespace opsagent
