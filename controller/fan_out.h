#ifndef OPSAGENT_CONTROLLER_FAN_OUT_H_
#define OPSAGENT_CONTROLLER_FAN_OUT_H_

#include <functional>
#include <vector>

#include "opsagent/v1/controller.pb.h"

namespace opsagent {

struct FanOutOptions {
  // Hosts worked on at once.
  int concurrency = 20;
  // Stop starting hosts after this many failed ones; 0 means never stop.
  int max_failures = 0;
};

// How many hosts ended how: the one tally of the direct path and the
// controller's.
struct FanOutSummary {
  int ok = 0;
  int error = 0;
  int denied = 0;
  int unreachable = 0;
  int unknown = 0;
  int pending = 0;      // not sent: the audit log could not record it
  int not_started = 0;  // skipped once the error budget was spent
  int failed() const {
    return error + denied + unreachable + unknown + pending;
  }
  // Counts one host's outcome; a value this release does not know counts
  // as unknown.
  void Add(v1::Outcome outcome);
  // As the controller's run stream ends with it.
  v1::RunFinished ToProto() const;
};

// Runs `task` for each of `count` items (hosts, by index), at most
// `concurrency` at a time, and calls `on_done` with each one's outcome as it
// finishes (never two at once, so it may print). Once `max_failures` have
// failed, no further one is started; those not started are counted, not
// run.
FanOutSummary RunFanOut(
    size_t count, const FanOutOptions& options,
    const std::function<v1::Outcome(size_t index)>& task,
    const std::function<void(size_t index, v1::Outcome, const FanOutSummary&)>&
        on_done);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_FAN_OUT_H_
