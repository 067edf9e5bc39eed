#ifndef OPSAGENT_CONTROLLER_COMMANDS_CAPTURED_COMMAND_H_
#define OPSAGENT_CONTROLLER_COMMANDS_CAPTURED_COMMAND_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace opsagent {

// What an opsctl command run inside another program printed and how it
// ended.
struct CapturedCommand {
  // opsctl's exit code (controller/exit_codes.h).
  int exit_code = 0;
  // What it printed, its output and errors in the order written, escaped
  // for a terminal as opsctl's own streams are.
  std::string output;
  bool output_truncated = false;
  // The run its calls were grouped under; empty if it made none.
  std::string run_id;
};

// Runs the opsctl command `args` (as after "opsctl", the command's name
// first: "runbook", "run", ENTRY, ..., "--config", FILE) in this process, for
// opsctld's automatic diagnosis: parsed and checked as opsctl parses and checks
// it, with an Invocation of its own whose output is captured (at most
// `max_output_bytes`) and whose calls all end by `timeout` from now. No
// process is started and no shell is involved. Thread-safe: runs share
// nothing but the command table.
CapturedCommand RunCapturedCommand(const std::vector<std::string>& args,
                                   absl::Duration timeout,
                                   size_t max_output_bytes);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_CAPTURED_COMMAND_H_
