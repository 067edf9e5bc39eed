#ifndef OPSAGENT_CONTROLLER_COMMANDS_RUN_OPERATION_H_
#define OPSAGENT_CONTROLLER_COMMANDS_RUN_OPERATION_H_

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/auditing_caller.h"
#include "controller/fan_out.h"
#include "controller/invocation.h"
#include "google/protobuf/message.h"

namespace opsagent {

// How a command shows its operation's result to people (with --output json
// every command prints the same envelope, so these are not used).
struct Presentation {
  // The final message: the reply, or a stream's last event, printed to
  // `out`. Also called for a failure that carries one (a failed restart's
  // attempts).
  std::function<void(FILE* out, const google::protobuf::Message& final)> print;
  // Optional: a condition the result must meet (--fail-above 90); when it
  // fails, the command exits 7.
  std::function<absl::Status(const google::protobuf::Message& final)> check;
  // Optional, streams only: each event as it comes (progress, output).
  std::function<void(FILE* out, const google::protobuf::Message& event)>
      on_event;
};

// The typed form, for a command's file.
template <typename Final>
Presentation Present(
    std::function<void(FILE*, const Final&)> print,
    std::function<absl::Status(const Final&)> check = nullptr,
    std::function<void(FILE*, const Final&)> on_event = nullptr) {
  Presentation presentation;
  presentation.print = [print](FILE* out, const google::protobuf::Message& m) {
    print(out, static_cast<const Final&>(m));
  };
  if (check) {
    presentation.check = [check](const google::protobuf::Message& m) {
      return check(static_cast<const Final&>(m));
    };
  }
  if (on_event) {
    presentation.on_event = [on_event](FILE* out,
                                       const google::protobuf::Message& m) {
      on_event(out, static_cast<const Final&>(m));
    };
  }
  return presentation;
}

template <typename Final>
Presentation Present(
    void (*print)(FILE*, const Final&),
    std::function<absl::Status(const Final&)> check = nullptr,
    std::function<void(FILE*, const Final&)> on_event = nullptr) {
  return Present<Final>(std::function<void(FILE*, const Final&)>(print),
                        std::move(check), std::move(on_event));
}

// Runs one operation on the hosts `target` selects (a host name, a glob,
// role:NAME, env:NAME; see SelectHosts), audited, and shows each host's
// outcome as it ends: for people, or one JSON object per host with --output
// json. One host named exactly is shown without a header or summary line;
// several are worked on concurrently (--concurrency), printed as they
// finish, summed up on stderr and grouped under one run id in the audit
// log. Returns the exit code.
int RunOperation(Invocation& invocation, const std::string& target,
                 const OperationCall& call, const Presentation& presentation);

// A host's name, not an expression ("role:web", "web-*", "a,b"): what
// --host and an alert give.
bool IsOneHostName(absl::string_view name);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_RUN_OPERATION_H_
