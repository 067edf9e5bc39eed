#include "agent/ops/registry.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

std::map<std::string, OperationHandler>& Handlers() {
  static auto* handlers = new std::map<std::string, OperationHandler>();
  return *handlers;
}

}  // namespace

bool RegisterOperationHandler(absl::string_view method,
                              OperationHandler handler) {
  return Handlers().emplace(std::string(method), std::move(handler)).second;
}

const OperationHandler* FindOperationHandler(const OperationInfo& op) {
  auto it = Handlers().find(op.method->name());
  return it == Handlers().end() ? nullptr : &it->second;
}

absl::Status CheckOperationHandlers() {
  for (const OperationInfo* op : AllOperations()) {
    if (FindOperationHandler(*op) == nullptr) {
      return absl::InternalError(absl::StrCat("operation ", op->name, " (",
                                              op->path, ") has no handler"));
    }
  }
  for (const auto& [method, handler] : Handlers()) {
    bool declared = false;
    for (const OperationInfo* op : AllOperations())
      declared |= op->method->name() == method;
    if (!declared) {
      return absl::InternalError(
          absl::StrCat("handler for ", method, " serves no declared RPC"));
    }
  }
  return absl::OkStatus();
}

}  // namespace opsagent
