#ifndef OPSAGENT_CONTROLLER_EXIT_CODES_H_
#define OPSAGENT_CONTROLLER_EXIT_CODES_H_

#include "absl/status/status.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// opsctl's exit codes; scripts may rely on them (documented in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitOperationFailed =
    1;                                // the agent ran it and it failed
inline constexpr int kExitUsage = 2;  // bad command line or local config
inline constexpr int kExitDenied =
    3;  // refused by the agent's authorization or TLS
inline constexpr int kExitUnreachable = 4;  // no connection to the agent
inline constexpr int kExitAuditUnavailable =
    5;  // not sent: the audit log cannot record it (or, through the
        // controller, takes no more from this operator for now)
inline constexpr int kExitUnknown =
    6;  // sent, outcome unknown (connection lost)
// Ran, but a check (--min-available, --fail-above) failed.
inline constexpr int kExitCheckFailed = 7;

inline int ExitCodeFor(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_OK:
      return kExitOk;
    case v1::OUTCOME_DENIED:
      return kExitDenied;
    case v1::OUTCOME_UNREACHABLE:
      return kExitUnreachable;
    case v1::OUTCOME_UNKNOWN:
      return kExitUnknown;
    case v1::OUTCOME_PENDING:
      return kExitAuditUnavailable;
    default:  // error, and a value this release does not know
      break;
  }
  return kExitOperationFailed;
}

// The exit code for a call to the controller that failed (incidents, hosts,
// the team log's reads): one mapping, so that a denial is 3 whichever
// command met it. `unavailable` is what any other failure means to the
// command (kExitUnreachable; kExitAuditUnavailable for the team log).
inline int ExitCodeForControllerError(const absl::Status& status,
                                      int unavailable = kExitUnreachable) {
  switch (status.code()) {
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return kExitDenied;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return kExitUsage;
    default:
      return unavailable;
  }
}

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_EXIT_CODES_H_
