#ifndef OPSAGENT_AGENT_OPS_REGISTRY_H_
#define OPSAGENT_AGENT_OPS_REGISTRY_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/ops/operation.h"
#include "common/operation_catalog.h"
#include "google/protobuf/message.h"

namespace opsagent {

// Where an operation's output goes: its one reply, or each event of a
// stream (the last holding `result`). False once the caller has gone away.
using Emit = std::function<bool(const google::protobuf::Message&)>;

// What an operation does with its parsed request. It emits its reply (or
// final event) also when it fails, so that a failure carries what it found.
using OperationHandler = std::function<absl::Status(
    const OperationContext&, const google::protobuf::Message& request,
    const Emit& emit)>;

// Registers the handler of the RPC called `method` in agent.proto. Each
// file in agent/ops/ does so once, with OPSAGENT_OPERATION, at start-up.
bool RegisterOperationHandler(absl::string_view method,
                              OperationHandler handler);

// The handler of a declared operation, or nullptr.
const OperationHandler* FindOperationHandler(const OperationInfo& op);

// OK when every operation agent.proto declares has a handler and every
// handler a declaration; the agent refuses to start otherwise.
absl::Status CheckOperationHandlers();

namespace registry_internal {

// An operation answering with one reply.
template <typename Request, typename Reply>
OperationHandler Handler(absl::Status (*run)(const OperationContext&,
                                             const Request&, Reply*)) {
  return [run](const OperationContext& context,
               const google::protobuf::Message& request, const Emit& emit) {
    Reply reply;
    absl::Status status =
        run(context, static_cast<const Request&>(request), &reply);
    emit(reply);
    return status;
  };
}

// An operation answering with a stream of events.
template <typename Request, typename Event>
OperationHandler Handler(
    absl::Status (*run)(const OperationContext&, const Request&,
                        const std::function<bool(const Event&)>&)) {
  return [run](const OperationContext& context,
               const google::protobuf::Message& request, const Emit& emit) {
    return run(context, static_cast<const Request&>(request),
               [&emit](const Event& event) { return emit(event); });
  };
}

}  // namespace registry_internal

// Declares, in an operation's own file, which function serves the RPC
// `Method` of agent.proto, e.g. OPSAGENT_OPERATION(GetMemory, RunMemory).
// What the operation is (its name, whether it changes the host) comes from
// the RPC's `(operation)` option; this only binds the code.
#define OPSAGENT_OPERATION(Method, Function)       \
  static const bool opsagent_registered_##Method = \
      ::opsagent::RegisterOperationHandler(        \
          #Method, ::opsagent::registry_internal::Handler(&Function))

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_REGISTRY_H_
