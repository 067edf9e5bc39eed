#include "controller/commands/captured_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/host_text.h"
#include "controller/commands/command.h"
#include "controller/exit_codes.h"

namespace opsagent {
namespace {

// The text a command writes, escaped as it comes and cut at a size.
struct Capture {
  size_t max_bytes;
  TerminalEscaper escaper;
  std::string text;
  bool truncated = false;

  void Append(const std::string& escaped) {
    if (truncated) return;
    const size_t room = max_bytes - std::min(max_bytes, text.size());
    if (escaped.size() <= room) {
      text.append(escaped);
      return;
    }
    truncated = true;
    text.append(escaped, 0, WholeUpTo(escaped, room));
  }

  // The longest prefix of `escaped` of at most `n` bytes that ends neither
  // inside a UTF-8 character nor inside an escape (\xHH, \uHHHH): a cut
  // there would leave a byte or a half escape no reader can tell apart.
  static size_t WholeUpTo(absl::string_view escaped, size_t n) {
    while (n > 0 && (static_cast<unsigned char>(escaped[n]) & 0xC0) == 0x80)
      --n;
    const size_t from = n >= 5 ? n - 5 : 0;
    const size_t slash = escaped.substr(from, n - from).rfind('\\');
    if (slash == absl::string_view::npos) return n;
    const size_t at = from + slash;
    const size_t length = escaped.substr(at + 1, 1) == "x"   ? 4
                          : escaped.substr(at + 1, 1) == "u" ? 6
                                                             : 1;
    return at + length > n ? at : n;
  }
};

ssize_t CaptureWrite(void* cookie, const char* data, size_t size) {
  auto* capture = static_cast<Capture*>(cookie);
  capture->Append(capture->escaper.Feed({data, size}));
  return static_cast<ssize_t>(size);
}

int CaptureClose(void* cookie) {
  auto* capture = static_cast<Capture*>(cookie);
  capture->Append(capture->escaper.Flush());
  return 0;
}

CapturedCommand Refused(int exit_code, absl::string_view message) {
  CapturedCommand refused;
  refused.exit_code = exit_code;
  refused.output = absl::StrCat("opsctl: ", TerminalSafe(message), "\n");
  return refused;
}

}  // namespace

CapturedCommand RunCapturedCommand(const std::vector<std::string>& args,
                                   absl::Duration timeout,
                                   size_t max_output_bytes) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(args);
  if (!parsed.ok()) return Refused(kExitUsage, parsed.status().message());
  absl::StatusOr<std::unique_ptr<Invocation>> invocation =
      Invocation::FromArgs(parsed->args);
  if (!invocation.ok())
    return Refused(kExitUsage, invocation.status().message());
  Capture capture{max_output_bytes};
  static constexpr cookie_io_functions_t kFunctions = {nullptr, CaptureWrite,
                                                       nullptr, CaptureClose};
  FILE* stream = fopencookie(&capture, "w", kFunctions);
  if (stream == nullptr)
    return Refused(kExitOperationFailed, "cannot capture the output");
  std::unique_ptr<Invocation> command = *std::move(invocation);
  command->set_inside_daemon();
  // Through this controller only: a configuration without one would run
  // the diagnosis over the break-glass path into an audit log of its own.
  if (!command->via_controller()) {
    absl::StatusOr<const v1::OperatorConfig*> config = command->config();
    return Refused(
        kExitUsage,
        config.ok()
            ? "the automation's opsctl configuration names no controller: a "
              "diagnosis goes through this controller and is recorded in "
              "the team's log; give it `controller:` (and no --direct)"
            : config.status().message());
  }
  command->WriteTo(stream, stream);
  command->set_deadline(deadline);
  CapturedCommand ran;
  ran.exit_code = parsed->command.run(*command, parsed->args);
  ran.run_id = command->run_id();
  command.reset();  // writes nothing more to `stream`
  std::fclose(stream);
  ran.output = std::move(capture.text);
  ran.output_truncated = capture.truncated;
  return ran;
}

}  // namespace opsagent
