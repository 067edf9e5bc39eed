// `opsctl df`: filesystems like `df -h`, and a check of how full they are.

#include <cmath>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/human_size.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/table.h"
#include "controller/result_summary.h"

namespace opsagent {
namespace {

std::string Percent(uint64_t used, uint64_t available) {
  // df's Use%: used / (used + available), rounded up.
  if (used + available == 0) return "-";
  return absl::StrCat(
      static_cast<int>(std::ceil(100.0 * used / (used + available))), "%");
}

int PercentUsed(const v1::Filesystem& fs) {
  const uint64_t total = fs.used_bytes() + fs.available_bytes();
  return total == 0
             ? 0
             : static_cast<int>(std::ceil(100.0 * fs.used_bytes() / total));
}

std::string FilesystemsSummary(const v1::FilesystemsReply& r) {
  if (r.filesystems().empty()) return "no filesystems";
  const v1::Filesystem* fullest = &r.filesystems(0);
  for (const v1::Filesystem& fs : r.filesystems()) {
    if (PercentUsed(fs) > PercentUsed(*fullest)) fullest = &fs;
  }
  return absl::StrCat(r.filesystems_size(), " filesystems; fullest ",
                      fullest->mount_point(), " ", PercentUsed(*fullest), "%");
}

int RunDf(Invocation& invocation, const ParsedArgs& args) {
  int fail_above = 100;
  if (args.Has("fail-above") &&
      (!absl::SimpleAtoi(args.Get("fail-above"), &fail_above) ||
       fail_above < 0 || fail_above > 100)) {
    return CommandFailed(invocation, kExitUsage,
                         "--fail-above takes a percentage from 0 to 100");
  }
  const std::string mount = args.Get("mount");
  const bool inodes = args.Has("inodes");
  const bool check = args.Has("fail-above");
  auto request = std::make_shared<v1::FilesystemsRequest>();
  request->set_include_all(args.Has("all"));
  Presentation presentation;
  presentation.print = [inodes](FILE* out, const google::protobuf::Message& m) {
    const auto& r = static_cast<const v1::FilesystemsReply&>(m);
    TextTable table(
        inodes ? std::vector<std::string>{"Filesystem", "Inodes", "IUsed",
                                          "IFree", "IUse%", "Mounted on"}
               : std::vector<std::string>{"Filesystem", "Size", "Used", "Avail",
                                          "Use%", "Mounted on"},
        {1, 2, 3, 4});
    for (const v1::Filesystem& fs : r.filesystems()) {
      if (inodes) {
        table.AddRow(
            {fs.source(), absl::StrCat(fs.inodes_total()),
             absl::StrCat(fs.inodes_used()), absl::StrCat(fs.inodes_free()),
             Percent(fs.inodes_used(), fs.inodes_free()), fs.mount_point()});
      } else {
        table.AddRow({fs.source(), FormatHumanSize(fs.size_bytes()),
                      FormatHumanSize(fs.used_bytes()),
                      FormatHumanSize(fs.available_bytes()),
                      Percent(fs.used_bytes(), fs.available_bytes()),
                      fs.mount_point()});
      }
    }
    std::fprintf(out, "%s", table.Render().c_str());
  };
  if (check) {
    presentation.check = [fail_above,
                          mount](const google::protobuf::Message& m) {
      for (const v1::Filesystem& fs :
           static_cast<const v1::FilesystemsReply&>(m).filesystems()) {
        if (PercentUsed(fs) > fail_above &&
            (mount.empty() || fs.mount_point() == mount)) {
          return absl::FailedPreconditionError(
              absl::StrCat(fs.mount_point(), " is ", PercentUsed(fs),
                           "% full, above ", fail_above, "%"));
        }
      }
      return absl::OkStatus();
    };
  }
  return RunOperation(invocation, args.positional()[0],
                      {&OperationFor<v1::FilesystemsRequest>(), request},
                      presentation);
}

const bool kSummary =
    RegisterResultSummaryOf<v1::FilesystemsReply>(&FilesystemsSummary);

Command DfCommand() {
  return {
      "df",
      "HOST",
      "filesystems like `df -h`, without loop/squashfs/tmpfs noise",
      "Shows size, used, available and use% per mounted filesystem on HOST. "
      "Pseudo\n"
      "filesystems, tmpfs, devtmpfs, squashfs and loop devices are hidden "
      "unless --all.\n\n"
      "Example:\n  opsctl df xqwatcher-1\n",
      {{"all", "",
        "include tmpfs, squashfs, loop devices and pseudo filesystems"},
       {"inodes", "", "show inode counts instead of sizes (like df -i)"},
       {"fail-above", "PERCENT",
        "exit 7 if a filesystem is fuller than PERCENT"},
       {"mount", "PATH",
        "with --fail-above: check only the filesystem mounted at PATH"}},
      1,
      1,
      RunDf};
}

}  // namespace

OPSCTL_COMMAND(kInspection, DfCommand);

}  // namespace opsagent
