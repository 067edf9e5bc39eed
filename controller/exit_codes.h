#ifndef OPSAGENT_CONTROLLER_EXIT_CODES_H_
#define OPSAGENT_CONTROLLER_EXIT_CODES_H_

#include "controller/audit/audit_record.h"

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
    5;  // not sent: the audit log cannot record it
inline constexpr int kExitUnknown =
    6;  // sent, outcome unknown (connection lost)
// Ran, but a check (--min-available, --fail-above) failed.
inline constexpr int kExitCheckFailed = 7;

inline int ExitCodeFor(AuditOutcome outcome) {
  switch (outcome) {
    case AuditOutcome::kOk:
      return kExitOk;
    case AuditOutcome::kDenied:
      return kExitDenied;
    case AuditOutcome::kUnreachable:
      return kExitUnreachable;
    case AuditOutcome::kUnknown:
      return kExitUnknown;
    case AuditOutcome::kPending:
      return kExitAuditUnavailable;
    case AuditOutcome::kError:
      break;
  }
  return kExitOperationFailed;
}

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_EXIT_CODES_H_
