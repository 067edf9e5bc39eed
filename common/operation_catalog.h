#ifndef OPSAGENT_COMMON_OPERATION_CATALOG_H_
#define OPSAGENT_COMMON_OPERATION_CATALOG_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// One vetted operation, as its RPC in agent.proto declares it (the
// `(opsagent.v1.operation)` option). The single source of what an operation
// is, linked into the agent and opsctl alike.
struct OperationInfo {
  std::string name;     // "memory": authorization rules, logs, the audit
  std::string verb;     // "mem": the opsctl command that runs it, if any
  std::string summary;  // one line for people
  bool mutating = false;
  bool heavy = false;
  // Whether each call changes the host is its declaration's (a vetted
  // command's read_only), which the agent checks.
  bool read_only_per_declaration = false;
  // How it travels: "/opsagent.v1.OpsAgent/GetMemory", and whether the
  // agent answers with a stream of events (the last one holding `result`)
  // instead of one reply.
  std::string path;
  bool streaming = false;
  const google::protobuf::MethodDescriptor* method = nullptr;

  // A new, empty request, reply (unary) or event (streaming) message.
  std::unique_ptr<google::protobuf::Message> NewRequest() const;
  std::unique_ptr<google::protobuf::Message> NewReply() const;
  // The request's RequestMeta (field 1 of every request).
  static const v1::RequestMeta& Meta(const google::protobuf::Message& request);
  static v1::RequestMeta* MutableMeta(google::protobuf::Message* request);
  // For a streaming operation: whether `event` is its final one (its
  // `result` field is set). Always true for a unary reply.
  bool IsFinal(const google::protobuf::Message& event) const;
  // What the operation answered: the reply, or a final event's `result`.
  const google::protobuf::Message& ResultOf(
      const google::protobuf::Message& final) const;
};

// Every operation of the OpsAgent service, read from its descriptor once.
// Aborts at start-up if an RPC lacks its declaration or a request its meta:
// a build that would dispatch an undeclared operation never runs.
absl::Span<const OperationInfo* const> AllOperations();

// The operation named `name` ("memory"), by its RPC path, or by the opsctl
// command that runs it ("mem"); nullptr if none.
const OperationInfo* FindOperation(absl::string_view name);
const OperationInfo* FindOperationByPath(absl::string_view path);
const OperationInfo* FindOperationByVerb(absl::string_view verb);

// The operation whose RPC takes, or answers with, `type` (a request, a
// reply, a stream's event); aborts if none: a typo cannot compile into a
// call of another operation.
const OperationInfo& OperationOf(const google::protobuf::Descriptor* type);

// The same, typed: OperationFor<v1::MemoryRequest>().
template <typename Message>
const OperationInfo& OperationFor() {
  return OperationOf(Message::descriptor());
}

// The operation's parameters as the audit log keeps them: the request in
// Protobuf's JSON mapping with its meta cleared.
std::string ParametersJson(const google::protobuf::Message& request);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_OPERATION_CATALOG_H_
