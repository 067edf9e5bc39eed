#include "controller/cli/confirmation.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/ascii.h"

namespace opsagent {

absl::Status AskOnTerminal(const std::string& question) {
  if (!isatty(STDIN_FILENO)) {
    return absl::FailedPreconditionError(
        "this command changes the host; pass --yes to confirm when not on a "
        "terminal");
  }
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) answer.clear();
  answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
  if (answer == "y" || answer == "yes") return absl::OkStatus();
  return absl::CancelledError("not confirmed; nothing was sent");
}

}  // namespace opsagent
