// Read-only inspection commands: info, mem, df, du.

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/human_size.h"
#include "controller/commands/command.h"
#include "controller/commands/host_call.h"
#include "controller/output/table.h"
#include "controller/output/terminal.h"

namespace opsagent {
namespace {

std::string Percent(uint64_t used, uint64_t available) {
  // df's Use%: used / (used + available), rounded up.
  if (used + available == 0) return "-";
  return absl::StrCat(
      static_cast<int>(std::ceil(100.0 * used / (used + available))), "%");
}

std::string Duration(int64_t seconds) {
  return seconds == 0 ? "0s" : absl::FormatDuration(absl::Seconds(seconds));
}

absl::StatusOr<uint32_t> TopN(const ParsedArgs& args, const std::string& flag) {
  uint32_t n = 10;
  if (args.Has(flag) &&
      (!absl::SimpleAtoi(args.Get(flag), &n) || n == 0 || n > 1000)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " takes a number from 1 to 1000"));
  }
  return n;
}

int RunInfo(Session& session, const ParsedArgs& args) {
  return CallHost<v1::InfoReply>(
      session, args.positional()[0], {"info"},
      [](AgentClient& client, const v1::RequestMeta& meta) {
        v1::InfoRequest request;
        *request.mutable_meta() = meta;
        return client.GetInfo(request);
      },
      [](const v1::InfoReply& r) {
        return absl::StrCat("opsagent ", r.agent_version(), " on ",
                            r.hostname());
      },
      [](const v1::InfoReply& r) {
        const absl::Time expiry =
            absl::FromUnixSeconds(r.certificate_not_after_unix());
        std::printf("host:              %s\n", Shown(r.hostname()).c_str());
        std::printf("roles:             %s\n",
                    Shown(absl::StrJoin(r.roles(), ", ")).c_str());
        std::printf("agent version:     %s\n",
                    Shown(r.agent_version()).c_str());
        std::printf("agent uptime:      %s\n",
                    Duration(r.agent_uptime_seconds()).c_str());
        std::printf("host uptime:       %s\n",
                    Duration(r.host_uptime_seconds()).c_str());
        std::printf("kernel:            %s\n",
                    Shown(r.kernel_release()).c_str());
        std::printf(
            "certificate until: %s (%s left)\n",
            absl::FormatTime(absl::RFC3339_sec, expiry, absl::UTCTimeZone())
                .c_str(),
            absl::FormatDuration(
                absl::Floor(expiry - absl::Now(), absl::Hours(1)))
                .c_str());
        std::printf("inspection roots:  %s\n",
                    Shown(absl::StrJoin(r.inspection_roots(), " ")).c_str());
        std::printf("you are:           %s (%s)\n",
                    Shown(r.caller_identity()).c_str(),
                    Shown(absl::StrJoin(r.caller_roles(), ", ")).c_str());
        std::printf("you may call:      %s\n",
                    Shown(absl::StrJoin(r.caller_operations(), ", ")).c_str());
      });
}

int RunMem(Session& session, const ParsedArgs& args) {
  absl::StatusOr<uint32_t> top = TopN(args, "top");
  if (!top.ok()) return CommandFailed(kExitUsage, (top.status()).message());
  uint64_t min_available = 0;
  if (args.Has("min-available")) {
    absl::StatusOr<uint64_t> parsed = ParseHumanSize(args.Get("min-available"));
    if (!parsed.ok())
      return CommandFailed(kExitUsage, (parsed.status()).message());
    min_available = *parsed;
  }
  return CallHost<v1::MemoryReply>(
      session, args.positional()[0],
      {"memory", absl::StrCat("{\"top_processes\":", *top, "}")},
      [&](AgentClient& client, const v1::RequestMeta& meta) {
        v1::MemoryRequest request;
        *request.mutable_meta() = meta;
        request.set_top_processes(*top);
        return client.GetMemory(request);
      },
      [](const v1::MemoryReply& r) {
        std::string summary =
            absl::StrCat("available ", FormatHumanSize(r.available_bytes()),
                         " of ", FormatHumanSize(r.total_bytes()));
        if (r.top_processes_size() > 0) {
          absl::StrAppend(&summary, "; largest ", r.top_processes(0).name(),
                          " ", FormatHumanSize(r.top_processes(0).rss_bytes()));
        }
        return summary;
      },
      [](const v1::MemoryReply& r) {
        // The layout of procps `free`: a 7-wide label, then 12-wide columns.
        std::printf("%-7s%12s%12s%12s%12s%12s%12s\n", "", "total", "used",
                    "free", "shared", "buff/cache", "available");
        std::printf("%-7s%12s%12s%12s%12s%12s%12s\n",
                    "Mem:", FormatHumanSize(r.total_bytes()).c_str(),
                    FormatHumanSize(r.used_bytes()).c_str(),
                    FormatHumanSize(r.free_bytes()).c_str(),
                    FormatHumanSize(r.shared_bytes()).c_str(),
                    FormatHumanSize(r.buff_cache_bytes()).c_str(),
                    FormatHumanSize(r.available_bytes()).c_str());
        std::printf("%-7s%12s%12s%12s\n\n",
                    "Swap:", FormatHumanSize(r.swap_total_bytes()).c_str(),
                    FormatHumanSize(r.swap_used_bytes()).c_str(),
                    FormatHumanSize(r.swap_free_bytes()).c_str());
        TextTable processes({"PID", "UID", "RSS", "COMMAND"}, {0, 1, 2});
        for (const v1::ProcessMemory& p : r.top_processes()) {
          processes.AddRow({absl::StrCat(p.pid()), absl::StrCat(p.uid()),
                            FormatHumanSize(p.rss_bytes()), p.name()});
        }
        std::printf("%s", processes.Render().c_str());
      },
      [&](const v1::MemoryReply& r) -> absl::Status {
        if (min_available == 0 || r.available_bytes() >= min_available)
          return absl::OkStatus();
        return absl::FailedPreconditionError(
            absl::StrCat("available ", FormatHumanSize(r.available_bytes()),
                         " is below ", FormatHumanSize(min_available)));
      });
}

int RunDf(Session& session, const ParsedArgs& args) {
  const bool all = args.Has("all");
  int fail_above = 100;
  if (args.Has("fail-above") &&
      (!absl::SimpleAtoi(args.Get("fail-above"), &fail_above) ||
       fail_above < 0 || fail_above > 100)) {
    return CommandFailed(kExitUsage,
                         (absl::InvalidArgumentError(
                              "--fail-above takes a percentage from 0 to 100"))
                             .message());
  }
  const std::string mount = args.Get("mount");
  return CallHost<v1::FilesystemsReply>(
      session, args.positional()[0],
      {"filesystems",
       absl::StrCat("{\"include_all\":", all ? "true" : "false", "}")},
      [&](AgentClient& client, const v1::RequestMeta& meta) {
        v1::FilesystemsRequest request;
        *request.mutable_meta() = meta;
        request.set_include_all(all);
        return client.ListFilesystems(request);
      },
      [](const v1::FilesystemsReply& r) {
        std::string fullest;
        int fullest_percent = -1;
        for (const v1::Filesystem& fs : r.filesystems()) {
          const uint64_t total = fs.used_bytes() + fs.available_bytes();
          const int percent =
              total == 0 ? 0
                         : static_cast<int>(
                               std::ceil(100.0 * fs.used_bytes() / total));
          if (percent > fullest_percent) {
            fullest_percent = percent;
            fullest = fs.mount_point();
          }
        }
        if (r.filesystems().empty()) return std::string("no filesystems");
        return absl::StrCat(r.filesystems_size(), " filesystems; fullest ",
                            fullest, " ", fullest_percent, "%");
      },
      [&](const v1::FilesystemsReply& r) {
        const bool inodes = args.Has("inodes");
        TextTable table(
            inodes ? std::vector<std::string>{"Filesystem", "Inodes", "IUsed",
                                              "IFree", "IUse%", "Mounted on"}
                   : std::vector<std::string>{"Filesystem", "Size", "Used",
                                              "Avail", "Use%", "Mounted on"},
            {1, 2, 3, 4});
        for (const v1::Filesystem& fs : r.filesystems()) {
          if (inodes) {
            table.AddRow({fs.source(), absl::StrCat(fs.inodes_total()),
                          absl::StrCat(fs.inodes_used()),
                          absl::StrCat(fs.inodes_free()),
                          Percent(fs.inodes_used(), fs.inodes_free()),
                          fs.mount_point()});
          } else {
            table.AddRow({fs.source(), FormatHumanSize(fs.size_bytes()),
                          FormatHumanSize(fs.used_bytes()),
                          FormatHumanSize(fs.available_bytes()),
                          Percent(fs.used_bytes(), fs.available_bytes()),
                          fs.mount_point()});
          }
        }
        std::printf("%s", table.Render().c_str());
      },
      [&](const v1::FilesystemsReply& r) -> absl::Status {
        if (!args.Has("fail-above")) return absl::OkStatus();
        for (const v1::Filesystem& fs : r.filesystems()) {
          const uint64_t total = fs.used_bytes() + fs.available_bytes();
          const int percent =
              total == 0 ? 0
                         : static_cast<int>(
                               std::ceil(100.0 * fs.used_bytes() / total));
          if (percent > fail_above &&
              (mount.empty() || fs.mount_point() == mount)) {
            return absl::FailedPreconditionError(
                absl::StrCat(fs.mount_point(), " is ", percent,
                             "% full, above ", fail_above, "%"));
          }
        }
        return absl::OkStatus();
      });
}

int RunDu(Session& session, const ParsedArgs& args) {
  absl::StatusOr<uint32_t> top = TopN(args, "top");
  if (!top.ok()) return CommandFailed(kExitUsage, (top.status()).message());
  uint64_t max_entries = 0;
  if (args.Has("max-entries") &&
      (!absl::SimpleAtoi(args.Get("max-entries"), &max_entries) ||
       max_entries == 0)) {
    return CommandFailed(
        kExitUsage,
        (absl::InvalidArgumentError("--max-entries takes a positive number"))
            .message());
  }
  const std::string path = args.positional()[1];
  const bool show_progress =
      isatty(STDERR_FILENO) && session.output() == OutputFormat::kTable;
  return CallHost<v1::DiskUsageResult>(
      session, args.positional()[0],
      {"disk_usage", absl::StrCat("{\"path\":", JsonString(path), ",\"top\":",
                                  *top, ",\"max_entries\":", max_entries, "}")},
      [&](AgentClient& client, const v1::RequestMeta& meta) {
        v1::DiskUsageRequest request;
        *request.mutable_meta() = meta;
        request.set_path(path);
        request.set_top_directories(*top);
        request.set_top_files(*top);
        request.set_max_entries(max_entries);
        auto result =
            client.ScanDiskUsage(request, [&](const v1::DiskUsageProgress& p) {
              if (show_progress) {
                ShowProgress(absl::StrCat(
                    "scanning ", path, ": ", p.entries_scanned(), " entries, ",
                    FormatHumanSize(p.disk_bytes_scanned()), " so far "));
              }
            });
        if (show_progress) ClearProgress();
        return result;
      },
      [](const v1::DiskUsageResult& r) {
        std::string summary =
            absl::StrCat(r.path(), " ", FormatHumanSize(r.disk_bytes()));
        if (r.largest_files_size() > 0) {
          absl::StrAppend(&summary, "; largest file ",
                          r.largest_files(0).path(), " ",
                          FormatHumanSize(r.largest_files(0).disk_bytes()));
        }
        if (r.incomplete())
          absl::StrAppend(&summary, " (incomplete: ", r.incomplete_reason(),
                          ")");
        return summary;
      },
      [](const v1::DiskUsageResult& r) {
        for (const v1::PathUsage& dir : r.largest_directories()) {
          std::printf("%s\t%s\n", FormatHumanSize(dir.disk_bytes()).c_str(),
                      Shown(dir.path()).c_str());
        }
        std::printf("\nlargest files:\n");
        for (const v1::PathUsage& file : r.largest_files()) {
          std::printf("%s\t%s\n", FormatHumanSize(file.disk_bytes()).c_str(),
                      Shown(file.path()).c_str());
        }
        std::printf(
            "\n%s in %llu files and %llu directories, scanned in %lld ms\n",
            FormatHumanSize(r.disk_bytes()).c_str(),
            static_cast<unsigned long long>(r.files()),
            static_cast<unsigned long long>(r.directories()),
            static_cast<long long>(r.elapsed_ms()));
        if (r.skipped_entries() > 0) {
          std::printf(
              "skipped %llu entries (other filesystems or unreadable)\n",
              static_cast<unsigned long long>(r.skipped_entries()));
        }
        for (const std::string& error : r.errors())
          std::printf("  %s\n", Shown(error).c_str());
        if (r.incomplete())
          std::printf("INCOMPLETE: %s; figures cover only what was scanned\n",
                      Shown(r.incomplete_reason()).c_str());
      });
}

int RunOpenDeleted(Session& session, const ParsedArgs& args) {
  return CallHost<v1::OpenDeletedReply>(
      session, args.positional()[0], {"open_deleted"},
      [](AgentClient& client, const v1::RequestMeta& meta) {
        v1::OpenDeletedRequest request;
        *request.mutable_meta() = meta;
        return client.ListOpenDeletedFiles(request);
      },
      [](const v1::OpenDeletedReply& r) {
        return absl::StrCat(r.files_size(), " deleted files held open, ",
                            FormatHumanSize(r.total_disk_bytes()));
      },
      [](const v1::OpenDeletedReply& r) {
        TextTable table({"SIZE", "PID", "COMMAND", "FD", "DELETED FILE"},
                        {0, 1, 3});
        for (const v1::OpenDeletedFile& f : r.files()) {
          table.AddRow({FormatHumanSize(f.disk_bytes()), absl::StrCat(f.pid()),
                        f.process_name(), absl::StrCat(f.fd()), f.path()});
        }
        std::printf("%s", table.Render().c_str());
        std::printf(
            "\n%s held by processes in deleted files; restarting the "
            "holder (or truncating before deleting) frees it\n",
            FormatHumanSize(r.total_disk_bytes()).c_str());
      });
}

}  // namespace

std::vector<Command> InspectionCommands() {
  return {
      {"info",
       "HOST",
       "agent version, host, uptime, certificate expiry, and what you may call",
       "Asks the agent who it is and what you are allowed to do there.\n\n"
       "Example:\n  opsctl info salt-qa\n",
       {},
       1,
       1,
       RunInfo},
      {"mem",
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
       RunMem},
      {"df",
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
       RunDf},
      {"du",
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
       RunDu},
      {"open-deleted",
       "HOST",
       "deleted files still held open (like `lsof +L1`): space only a restart "
       "frees",
       "Lists files whose name was deleted while a process keeps them open, "
       "largest\n"
       "first. Their space is not free until the process closes them: this is "
       "why\n"
       "deleting xqwatcher.log needed a supervisor restart.\n\n"
       "Example:\n  opsctl open-deleted ip-10-7-0-78\n",
       {},
       1,
       1,
       RunOpenDeleted},
  };
}

}  // namespace opsagent
