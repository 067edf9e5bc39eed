#ifndef OPSAGENT_COMMON_GRPC_LOG_H_
#define OPSAGENT_COMMON_GRPC_LOG_H_

#include <cstddef>

#include "absl/time/time.h"

namespace opsagent {

// Sends gRPC's own log lines through spdlog (so they are made terminal-safe
// like every other line) and bounds them: at most `per_site` lines from one
// place in gRPC's source per `window`, then one line saying how many more
// were left out. Every connection a stranger opens and abandons makes gRPC
// log an error ("Handshake timed out", ...); without the bound a flood of
// such connections writes the disk full.
void ForwardGrpcLogs(size_t per_site = 5,
                     absl::Duration window = absl::Seconds(10));

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_GRPC_LOG_H_
