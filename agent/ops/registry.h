#ifndef OPSAGENT_AGENT_OPS_REGISTRY_H_
#define OPSAGENT_AGENT_OPS_REGISTRY_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "agent/ops/operation.h"

namespace opsagent {

// Every vetted operation the agent offers. Authorization rules may only name
// these; a new operation is registered here.
absl::Span<const OperationSpec* const> AllOperations();

// The operation called `name`, or nullptr.
const OperationSpec* FindOperation(absl::string_view name);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_REGISTRY_H_
