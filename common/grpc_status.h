#ifndef OPSAGENT_COMMON_GRPC_STATUS_H_
#define OPSAGENT_COMMON_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"

namespace opsagent {

// The one place where absl::Status and grpc::Status are converted. Codes have
// the same numbering in both; messages are carried unchanged.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// A failure that still carries what the operation found (a failed restart's
// attempts): `data`, when not null and not empty, travels in the status
// details as a google.rpc.Status holding it in one Any, gRPC's rich error
// model.
grpc::Status ToGrpcStatus(const absl::Status& status,
                          const google::protobuf::Message* data);

// The data a failed call carried, parsed into `data` (of the operation's
// reply or event type); false when it carried none of that type.
bool DataOfFailure(const grpc::Status& status, google::protobuf::Message* data);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_GRPC_STATUS_H_
