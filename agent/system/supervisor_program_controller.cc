#include "agent/system/supervisor_program_controller.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/host_text.h"
#include "common/subprocess.h"

namespace opsagent {
namespace {

// How much of each log file `tail` asks supervisord for.
constexpr size_t kTailBytes = 16 << 10;

// Python's str(timedelta) as supervisord prints uptimes: "0:04:48",
// "1 day, 2:03:04", "12 days, 0:00:01".
std::optional<absl::Duration> ParseUptime(absl::string_view text) {
  absl::Duration uptime;
  int64_t days = 0;
  if (size_t comma = text.find(", "); comma != absl::string_view::npos) {
    std::vector<absl::string_view> words =
        absl::StrSplit(text.substr(0, comma), ' ');
    if (words.size() != 2 || !absl::SimpleAtoi(words[0], &days))
      return std::nullopt;
    text.remove_prefix(comma + 2);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  int64_t hours, minutes, seconds;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &hours) ||
      !absl::SimpleAtoi(parts[1], &minutes) ||
      !absl::SimpleAtoi(parts[2], &seconds))
    return std::nullopt;
  uptime = absl::Hours(24 * days + hours) + absl::Minutes(minutes) +
           absl::Seconds(seconds);
  return uptime;
}

}  // namespace

absl::StatusOr<ServiceDetails> ParseSupervisorStatus(absl::string_view program,
                                                     absl::string_view output,
                                                     absl::Time now) {
  for (absl::string_view line :
       absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, program) || rest.empty() || rest[0] != ' ')
      continue;
    rest = absl::StripLeadingAsciiWhitespace(rest);
    const size_t end = std::min(rest.find(' '), rest.size());
    ServiceDetails details;
    details.status.active_state = EscapeHostBytes(rest.substr(0, end));
    details.status.sub_state = details.status.active_state;
    absl::string_view description =
        absl::StripAsciiWhitespace(rest.substr(end));
    absl::string_view running = description;
    if (absl::ConsumePrefix(&running, "pid ")) {
      std::vector<absl::string_view> fields =
          absl::StrSplit(running, absl::MaxSplits(", uptime ", 1));
      int pid;
      if (absl::SimpleAtoi(fields[0], &pid)) details.status.main_pid = pid;
      if (fields.size() == 2) {
        if (std::optional<absl::Duration> uptime = ParseUptime(fields[1]))
          details.since = now - *uptime;
      }
    } else {
      details.result = EscapeHostBytes(description);
    }
    return details;
  }
  return absl::NotFoundError(absl::StrCat(
      "supervisord does not report program ", program, ": ",
      EscapeHostBytes(absl::StripTrailingAsciiWhitespace(output))));
}

std::vector<ServiceLogLine> LastLogLines(absl::string_view tail, bool cut,
                                         size_t lines,
                                         const std::string& source) {
  std::vector<absl::string_view> all = absl::StrSplit(tail, '\n');
  if (!all.empty() && all.back().empty()) all.pop_back();
  size_t first = cut && !all.empty() ? 1 : 0;
  if (all.size() - first > lines) first = all.size() - lines;
  std::vector<ServiceLogLine> kept;
  for (size_t i = first; i < all.size(); ++i) {
    absl::string_view text = all[i];
    ServiceLogLine line;
    line.source = source;
    line.text = EscapeHostBytes(text.substr(0, kMaxServiceLogLineBytes));
    if (text.size() > kMaxServiceLogLineBytes) line.text += "…";
    kept.push_back(std::move(line));
  }
  return kept;
}

absl::StatusOr<ServiceStatus> SupervisorProgramController::Status() {
  absl::StatusOr<ServiceDetails> details = Details();
  if (!details.ok()) return details.status();
  return details->status;
}

absl::StatusOr<ServiceDetails> SupervisorProgramController::Details() {
  absl::StatusOr<ProgramResult> run =
      RunProgram({supervisorctl_, "-c", config_, "status", program_},
                 absl::Seconds(30), 64 << 10);
  if (!run.ok()) return run.status();
  // supervisorctl exits non-zero for programs that are not running; the
  // state is in the output either way.
  return ParseSupervisorStatus(program_, run->stdout_text, absl::Now());
}

absl::StatusOr<std::vector<ServiceLogLine>>
SupervisorProgramController::RecentLog(size_t lines) {
  std::vector<ServiceLogLine> log;
  // stdout, then stderr: when both hold more than `lines`, the end of
  // stderr, where a failing program says why, is what is kept. A program
  // with redirect_stderr has no stderr log, and supervisorctl says so.
  for (const char* stream : {"stdout", "stderr"}) {
    absl::StatusOr<ProgramResult> run =
        RunProgram({supervisorctl_, "-c", config_, "tail",
                    absl::StrCat("-", kTailBytes), program_, stream},
                   absl::Seconds(30), kTailBytes + 4096);
    if (!run.ok()) return run.status();
    if (run->exit_code != 0 ||
        absl::StartsWith(run->stdout_text, absl::StrCat(program_, ": ERROR")))
      continue;
    std::vector<ServiceLogLine> tail = LastLogLines(
        run->stdout_text, run->stdout_text.size() >= kTailBytes, lines, stream);
    log.insert(log.end(), tail.begin(), tail.end());
  }
  if (log.size() > lines) log.erase(log.begin(), log.end() - lines);
  return log;
}

absl::Status SupervisorProgramController::Restart(absl::Time deadline) {
  const absl::Duration timeout =
      std::max(deadline - absl::Now(), absl::Seconds(1));
  absl::StatusOr<ProgramResult> run = RunProgram(
      {supervisorctl_, "-c", config_, "restart", program_}, timeout, 64 << 10);
  if (!run.ok()) return run.status();
  absl::StatusOr<ServiceStatus> status = Status();
  if (!status.ok()) return status.status();
  if (run->exit_code != 0 || !IsUp(*status)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "supervisorctl restart ", program_, " exited ", run->exit_code, " (",
        EscapeHostBytes(absl::StripTrailingAsciiWhitespace(
            absl::StrCat(run->stdout_text, run->stderr_text))),
        "); now ", status->active_state));
  }
  return absl::OkStatus();
}

}  // namespace opsagent
