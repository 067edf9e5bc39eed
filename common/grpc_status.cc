#include "common/grpc_status.h"

#include <string>

#include "google/rpc/status.pb.h"

namespace opsagent {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

grpc::Status ToGrpcStatus(const absl::Status& status,
                          const google::protobuf::Message* data) {
  if (status.ok() || data == nullptr || data->ByteSizeLong() == 0)
    return ToGrpcStatus(status);
  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  details.add_details()->PackFrom(*data);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()),
                      details.SerializeAsString());
}

bool DataOfFailure(const grpc::Status& status,
                   google::protobuf::Message* data) {
  if (status.ok() || status.error_details().empty()) return false;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return false;
  for (const google::protobuf::Any& any : details.details()) {
    if (any.UnpackTo(data)) return true;
  }
  return false;
}

}  // namespace opsagent
