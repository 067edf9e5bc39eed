// Read-only inspection commands: info, mem, df, du, open-deleted, status:
// how each shows its operation's result, and the line the audit log keeps
// of it.

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/human_size.h"
#include "common/json.h"
#include "common/operation_catalog.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/service_log.h"
#include "controller/output/table.h"
#include "controller/output/terminal.h"
#include "controller/result_summary.h"

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

void PrintInfo(const v1::InfoReply& r) {
  const absl::Time expiry =
      absl::FromUnixSeconds(r.certificate_not_after_unix());
  std::printf("host:              %s\n", Shown(r.hostname()).c_str());
  std::printf("roles:             %s\n",
              Shown(absl::StrJoin(r.roles(), ", ")).c_str());
  std::printf("agent version:     %s\n", Shown(r.agent_version()).c_str());
  std::printf("agent uptime:      %s\n",
              Duration(r.agent_uptime_seconds()).c_str());
  std::printf("host uptime:       %s\n",
              Duration(r.host_uptime_seconds()).c_str());
  std::printf("kernel:            %s\n", Shown(r.kernel_release()).c_str());
  std::printf(
      "certificate until: %s (%s left)\n",
      absl::FormatTime(absl::RFC3339_sec, expiry, absl::UTCTimeZone()).c_str(),
      absl::FormatDuration(absl::Floor(expiry - absl::Now(), absl::Hours(1)))
          .c_str());
  std::printf("inspection roots:  %s\n",
              Shown(absl::StrJoin(r.inspection_roots(), " ")).c_str());
  std::printf("you are:           %s (%s)\n",
              Shown(r.caller_identity()).c_str(),
              Shown(absl::StrJoin(r.caller_roles(), ", ")).c_str());
  std::printf("you may call:      %s\n",
              Shown(absl::StrJoin(r.caller_operations(), ", ")).c_str());
  std::printf("truncatable logs:  %s\n",
              r.truncatable_logs().empty()
                  ? "none"
                  : Shown(absl::StrJoin(r.truncatable_logs(), " ")).c_str());
  std::vector<std::string> services;
  for (const v1::AllowedService& service : r.restartable()) {
    services.push_back(absl::StrCat(
        service.name(),
        service.manager() == v1::SUPERVISOR_PROGRAM ? " (supervisor)" : ""));
  }
  std::printf(
      "restartable:       %s\n",
      services.empty() ? "none" : Shown(absl::StrJoin(services, ", ")).c_str());
  std::printf("vetted commands:   %s\n", r.commands().empty() ? "none" : "");
  for (const v1::AllowedCommand& command : r.commands()) {
    std::printf("  %s%s%s%s\n", Shown(command.name()).c_str(),
                command.read_only() ? " (read-only)" : "",
                command.description().empty() ? "" : ": ",
                Shown(command.description()).c_str());
    for (const v1::CommandParameter& param : command.params()) {
      std::printf("      %s=%s%s%s\n", Shown(param.name()).c_str(),
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

void PrintMemory(const v1::MemoryReply& r) {
  // The layout of procps `free`: a 7-wide label, then 12-wide columns.
  std::printf("%-7s%12s%12s%12s%12s%12s%12s\n", "", "total", "used", "free",
              "shared", "buff/cache", "available");
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
  absl::StatusOr<uint32_t> top = TopN(args, "top");
  if (!top.ok()) return CommandFailed(kExitUsage, top.status().message());
  uint64_t min_available = 0;
  if (args.Has("min-available")) {
    absl::StatusOr<uint64_t> parsed = ParseHumanSize(args.Get("min-available"));
    if (!parsed.ok())
      return CommandFailed(kExitUsage, parsed.status().message());
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
    return CommandFailed(kExitUsage,
                         "--fail-above takes a percentage from 0 to 100");
  }
  const std::string mount = args.Get("mount");
  const bool inodes = args.Has("inodes");
  const bool check = args.Has("fail-above");
  auto request = std::make_shared<v1::FilesystemsRequest>();
  request->set_include_all(args.Has("all"));
  Presentation presentation;
  presentation.print = [inodes](const google::protobuf::Message& m) {
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
    std::printf("%s", table.Render().c_str());
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

void PrintDiskUsage(const v1::DiskUsageEvent& event) {
  const v1::DiskUsageResult& r = event.result();
  for (const v1::PathUsage& dir : r.largest_directories()) {
    std::printf("%s\t%s\n", FormatHumanSize(dir.disk_bytes()).c_str(),
                Shown(dir.path()).c_str());
  }
  std::printf("\nlargest files:\n");
  for (const v1::PathUsage& file : r.largest_files()) {
    std::printf("%s\t%s\n", FormatHumanSize(file.disk_bytes()).c_str(),
                Shown(file.path()).c_str());
  }
  std::printf("\n%s in %llu files and %llu directories, scanned in %lld ms\n",
              FormatHumanSize(r.disk_bytes()).c_str(),
              static_cast<unsigned long long>(r.files()),
              static_cast<unsigned long long>(r.directories()),
              static_cast<long long>(r.elapsed_ms()));
  if (r.skipped_entries() > 0) {
    std::printf("skipped %llu entries (other filesystems or unreadable)\n",
                static_cast<unsigned long long>(r.skipped_entries()));
  }
  for (const std::string& error : r.errors())
    std::printf("  %s\n", Shown(error).c_str());
  if (r.incomplete())
    std::printf("INCOMPLETE: %s; figures cover only what was scanned\n",
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
  absl::StatusOr<uint32_t> top = TopN(args, "top");
  if (!top.ok()) return CommandFailed(kExitUsage, top.status().message());
  uint64_t max_entries = 0;
  if (args.Has("max-entries") &&
      (!absl::SimpleAtoi(args.Get("max-entries"), &max_entries) ||
       max_entries == 0)) {
    return CommandFailed(kExitUsage, "--max-entries takes a positive number");
  }
  const std::string path = args.positional()[1];
  auto request = std::make_shared<v1::DiskUsageRequest>();
  request->set_path(path);
  request->set_top_directories(*top);
  request->set_top_files(*top);
  request->set_max_entries(max_entries);
  const bool show_progress = isatty(STDERR_FILENO);
  Presentation presentation = Present(&PrintDiskUsage);
  presentation.on_event = [show_progress,
                           path](const google::protobuf::Message& m) {
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

void PrintOpenDeleted(const v1::OpenDeletedReply& r) {
  TextTable table({"SIZE", "PID", "COMMAND", "FD", "DELETED FILE"}, {0, 1, 3});
  for (const v1::OpenDeletedFile& f : r.files()) {
    table.AddRow({FormatHumanSize(f.disk_bytes()), absl::StrCat(f.pid()),
                  f.process_name(), absl::StrCat(f.fd()), f.path()});
  }
  std::printf("%s", table.Render().c_str());
  std::printf(
      "\n%s held by processes in deleted files; restarting the holder (or "
      "truncating before deleting) frees it\n",
      FormatHumanSize(r.total_disk_bytes()).c_str());
}

std::string OpenDeletedSummary(const v1::OpenDeletedReply& r) {
  return absl::StrCat(r.files_size(), " deleted files held open, ",
                      FormatHumanSize(r.total_disk_bytes()));
}

int RunOpenDeleted(Invocation& invocation, const ParsedArgs& args) {
  return RunOperation(invocation, args.positional()[0],
                      {&OperationFor<v1::OpenDeletedRequest>(),
                       std::make_shared<v1::OpenDeletedRequest>()},
                      Present(&PrintOpenDeleted));
}

// Laid out like `systemctl status`, then the log lines like journalctl.
void PrintServiceStatus(const v1::ServiceStatusReply& r) {
  const v1::ServiceState& state = r.state();
  std::printf("%s %s (%s)\n", r.up() ? "●" : "×", Shown(r.name()).c_str(),
              r.manager() == v1::SUPERVISOR ? "supervisord" : "systemd");
  std::string active = state.active_state() == state.sub_state()
                           ? Shown(state.active_state())
                           : absl::StrCat(Shown(state.active_state()), " (",
                                          Shown(state.sub_state()), ")");
  if (r.since_unix_ms() != 0) {
    const absl::Time since = absl::FromUnixMillis(r.since_unix_ms());
    absl::StrAppend(
        &active, " since ",
        absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", since, absl::UTCTimeZone()),
        "; ", Duration(absl::ToInt64Seconds(absl::Now() - since)), " ago");
  }
  std::printf("     Active: %s\n", active.c_str());
  if (!r.result().empty() && r.result() != "success")
    std::printf("     Result: %s\n", Shown(r.result()).c_str());
  if (state.main_pid() > 0) std::printf("   Main PID: %d\n", state.main_pid());
  if (r.has_memory_bytes())
    std::printf("     Memory: %s\n", FormatHumanSize(r.memory_bytes()).c_str());
  if (r.has_tasks())
    std::printf("      Tasks: %llu\n",
                static_cast<unsigned long long>(r.tasks()));
  if (r.has_restarts()) std::printf("   Restarts: %u\n", r.restarts());
  if (!r.recent_log().empty())
    std::printf("\n%s", FormatServiceLog(r.recent_log(), "").c_str());
}

int RunStatus(Invocation& invocation, const ParsedArgs& args) {
  auto request = std::make_shared<v1::ServiceStatusRequest>();
  request->set_name(args.positional()[1]);
  if (args.Has("lines")) {
    uint32_t lines = 0;
    if (!absl::SimpleAtoi(args.Get("lines"), &lines) || lines > 200)
      return CommandFailed(kExitUsage, "--lines takes a number from 0 to 200");
    request->set_log_lines(lines);
  }
  return RunOperation(
      invocation, args.positional()[0],
      {&OperationFor<v1::ServiceStatusRequest>(), request},
      Present<v1::ServiceStatusReply>(
          &PrintServiceStatus, [](const v1::ServiceStatusReply& r) {
            if (r.up()) return absl::OkStatus();
            return absl::FailedPreconditionError(
                absl::StrCat(r.name(), " is not up: ", r.summary()));
          }));
}

const bool kSummaries[] = {
    RegisterResultSummaryOf<v1::InfoReply>(&InfoSummary),
    RegisterResultSummaryOf<v1::MemoryReply>(&MemorySummary),
    RegisterResultSummaryOf<v1::FilesystemsReply>(&FilesystemsSummary),
    RegisterResultSummaryOf<v1::DiskUsageEvent>(&DiskUsageSummary),
    RegisterResultSummaryOf<v1::OpenDeletedReply>(&OpenDeletedSummary),
};

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
      {"status",
       "HOST NAME",
       "a service's state, pid, memory, restarts and last log lines, like "
       "`systemctl status`",
       "Shows what `systemctl status NAME` and `journalctl -u NAME -n 10` "
       "show, for a\n"
       "systemd unit or supervisord program the agent may restart: its "
       "state and since\n"
       "when, main pid, the memory and tasks of its cgroup, how often "
       "systemd restarted\n"
       "it, and the last lines it logged (the journal, or supervisord's log "
       "tail). Exits\n"
       "7 when the service is not up, so scripts can wait on it.\n\n"
       "Examples:\n  opsctl status xqwatcher-1 xqwatcher\n"
       "  opsctl status salt-qa salt-master.service --lines 50\n",
       {{"lines", "N", "how many log lines to show (default 10, at most 200)"}},
       2,
       2,
       RunStatus},
  };
}

}  // namespace opsagent
