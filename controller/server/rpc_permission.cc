#include "controller/server/rpc_permission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {
namespace {

const google::protobuf::ServiceDescriptor& Service() {
  return *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      v1::Controller::service_full_name());
}

}  // namespace

std::string DeclaredPermission(absl::string_view rpc) {
  const google::protobuf::MethodDescriptor* method =
      Service().FindMethodByName(std::string(rpc));
  return method == nullptr ? ""
                           : method->options().GetExtension(v1::permission);
}

const std::vector<std::string>& DeclaredPermissions() {
  static const auto* const kPermissions = [] {
    auto* permissions = new std::vector<std::string>();
    const google::protobuf::ServiceDescriptor& service = Service();
    for (int i = 0; i < service.method_count(); ++i) {
      const std::string& permission =
          service.method(i)->options().GetExtension(v1::permission);
      if (!permission.empty()) permissions->push_back(permission);
    }
    std::sort(permissions->begin(), permissions->end());
    permissions->erase(std::unique(permissions->begin(), permissions->end()),
                       permissions->end());
    return permissions;
  }();
  return *kPermissions;
}

absl::Status CheckDeclaredPermissions() {
  const google::protobuf::ServiceDescriptor& service = Service();
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor& method = *service.method(i);
    if (method.options().GetExtension(v1::permission).empty()) {
      return absl::InternalError(absl::StrCat(
          "RPC ", method.full_name(),
          " declares no permission (option (permission) in controller.proto): "
          "nobody could call it, so this build is refused"));
    }
  }
  return absl::OkStatus();
}

}  // namespace opsagent
