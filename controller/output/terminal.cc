#include "controller/output/terminal.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "common/host_text.h"

namespace opsagent {
namespace {

struct GuardedStream {
  int fd;
  TerminalEscaper escaper;
};

bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(n);
  }
  return true;
}

ssize_t GuardedWrite(void* cookie, const char* data, size_t size) {
  auto* stream = static_cast<GuardedStream*>(cookie);
  if (!WriteAll(stream->fd, stream->escaper.Feed({data, size}))) return -1;
  return static_cast<ssize_t>(size);
}

int GuardedClose(void* cookie) {
  auto* stream = static_cast<GuardedStream*>(cookie);
  return WriteAll(stream->fd, stream->escaper.Flush()) ? 0 : -1;
}

// `state` lives as long as the process: the stream is flushed at exit,
// after static destructors have run.
FILE* Guard(GuardedStream* state, int buffering) {
  static constexpr cookie_io_functions_t kFunctions = {nullptr, GuardedWrite,
                                                       nullptr, GuardedClose};
  FILE* stream = fopencookie(state, "w", kFunctions);
  if (stream != nullptr) setvbuf(stream, nullptr, buffering, BUFSIZ);
  return stream;
}

}  // namespace

std::string Shown(absl::string_view host_text) {
  return TerminalSafe(host_text, LineBreaks::kEscape);
}

std::string ShownArguments(const std::vector<std::string>& args) {
  std::string shown;
  for (const std::string& arg : args) {
    if (!shown.empty()) shown += ' ';
    const bool plain = !arg.empty() && absl::c_all_of(arg, [](char c) {
      return absl::ascii_isalnum(c) || absl::StrContains("-_./:=,@%+", c);
    });
    if (plain) {
      shown += arg;
      continue;
    }
    shown += '\'';
    shown += absl::StrReplaceAll(arg, {{"'", "'\\''"}});
    shown += '\'';
  }
  return Shown(shown);
}

void GuardStandardStreams() {
  std::fflush(stdout);
  std::fflush(stderr);
  // glibc's stdout and stderr are plain variables, meant to be reassigned.
  static GuardedStream* const out_state = new GuardedStream{STDOUT_FILENO, {}};
  static GuardedStream* const err_state = new GuardedStream{STDERR_FILENO, {}};
  if (FILE* out = Guard(out_state, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF))
    stdout = out;
  if (FILE* err = Guard(err_state, _IONBF)) stderr = err;
}

void ShowProgress(absl::string_view text) {
  std::fflush(stderr);
  WriteAll(STDERR_FILENO, "\r\033[K" + Shown(text));
}

void ClearProgress() {
  std::fflush(stderr);
  WriteAll(STDERR_FILENO, "\r\033[K");
}

}  // namespace opsagent
