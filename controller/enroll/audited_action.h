#ifndef OPSAGENT_CONTROLLER_ENROLL_AUDITED_ACTION_H_
#define OPSAGENT_CONTROLLER_ENROLL_AUDITED_ACTION_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "controller/audit/audit_store.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// One action of the controller's own (a token made, a host enrolled or
// revoked) as a row of the team's log: `intent` is recorded first (its
// request and run id and start time are filled in here when empty), then
// `work` runs and returns a one-line summary or its error, and the outcome
// is recorded. If the intent cannot be recorded, nothing runs
// (FAILED_PRECONDITION). Returns the row's id, or `work`'s error.
absl::StatusOr<int64_t> RunAudited(
    AuditStore* audit, v1::AuditIntent intent,
    absl::FunctionRef<absl::StatusOr<std::string>()> work);

// Records `intent` and its refusal `why` at once (nothing was done).
void RecordRefusal(AuditStore* audit, v1::AuditIntent intent,
                   const absl::Status& why);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ENROLL_AUDITED_ACTION_H_
