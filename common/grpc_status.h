#ifndef OPSAGENT_COMMON_GRPC_STATUS_H_
#define OPSAGENT_COMMON_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace opsagent {

// The one place where absl::Status and grpc::Status are converted. Codes have
// the same numbering in both; messages are carried unchanged.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_GRPC_STATUS_H_
