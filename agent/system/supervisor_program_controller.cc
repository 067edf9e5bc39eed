#include "agent/system/supervisor_program_controller.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/host_text.h"
#include "common/subprocess.h"

namespace opsagent {

absl::StatusOr<ServiceStatus> ParseSupervisorStatus(absl::string_view program,
                                                    absl::string_view output) {
  for (absl::string_view line :
       absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 2 || fields[0] != program) continue;
    ServiceStatus status;
    status.active_state = EscapeHostBytes(fields[1]);
    status.sub_state = status.active_state;
    if (fields.size() >= 4 && fields[2] == "pid") {
      absl::string_view pid = fields[3];
      absl::ConsumeSuffix(&pid, ",");
      int value;
      if (absl::SimpleAtoi(pid, &value)) status.main_pid = value;
    }
    return status;
  }
  return absl::NotFoundError(absl::StrCat(
      "supervisord does not report program ", program, ": ",
      EscapeHostBytes(absl::StripTrailingAsciiWhitespace(output))));
}

absl::StatusOr<ServiceStatus> SupervisorProgramController::Status() {
  absl::StatusOr<ProgramResult> run =
      RunProgram({supervisorctl_, "-c", config_, "status", program_},
                 absl::Seconds(30), 64 << 10);
  if (!run.ok()) return run.status();
  // supervisorctl exits non-zero for programs that are not running; the
  // state is in the output either way.
  return ParseSupervisorStatus(program_, run->stdout_text);
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
