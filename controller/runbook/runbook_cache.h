#ifndef OPSAGENT_CONTROLLER_RUNBOOK_RUNBOOK_CACHE_H_
#define OPSAGENT_CONTROLLER_RUNBOOK_RUNBOOK_CACHE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "opsagent/v1/runbook.pb.h"

namespace opsagent {

// The operator's copy of the runbooks the controller last served, for the
// night the controller is down (`opsctl --direct runbook ...`): one
// Protobuf text file, readable and writable by the operator alone.

// Replaces the copy at `path` atomically (a file beside it, renamed over
// it), so that a reader never sees half of one.
absl::Status SaveRunbookCache(const std::string& path,
                              const v1::Runbook& runbook);

// The copy at `path`, if nobody but the operator (and root) can have
// changed it (common/trusted_path.h): its steps run as the operator.
absl::StatusOr<v1::Runbook> ReadRunbookCache(const std::string& path);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_RUNBOOK_RUNBOOK_CACHE_H_
