#ifndef OPSAGENT_COMMON_LINK_LIMITS_H_
#define OPSAGENT_COMMON_LINK_LIMITS_H_

#include <cstddef>

namespace opsagent {

// The largest messages each end of an agent's link to opsctld receives.
// A message over its receiver's limit would end the whole link (gRPC fails
// the stream), so each sender checks its messages against these first and
// refuses that one call alone (RESOURCE_EXHAUSTED) instead.

// What opsctld receives from any peer, an agent's relayed results and
// events included.
inline constexpr size_t kMaxControllerReceiveBytes = 16 << 20;

// What an agent receives over its link: relayed calls (an operator's signed
// request and certificate, a few KiB).
inline constexpr size_t kMaxAgentLinkReceiveBytes = 64 * 1024;

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_LINK_LIMITS_H_
