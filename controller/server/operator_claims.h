#ifndef OPSAGENT_CONTROLLER_SERVER_OPERATOR_CLAIMS_H_
#define OPSAGENT_CONTROLLER_SERVER_OPERATOR_CLAIMS_H_

#include "absl/status/status.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// Checks what opsctl says of the operator beside its certificate (the OS
// user, its uid, SUDO_USER), as every controller RPC that records it does:
// names at most 256 bytes of printable text, and a uid of 0 or more. (A
// negative uid is how rows from before schema 3 say "unknown", and such
// rows leave the uid and SUDO_USER out of their digest: a claim of one
// would let both be edited unseen.) INVALID_ARGUMENT naming the field.
absl::Status CheckOperatorClaims(const v1::OperatorClaims& claims);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_OPERATOR_CLAIMS_H_
