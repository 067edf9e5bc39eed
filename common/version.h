#ifndef OPSAGENT_COMMON_VERSION_H_
#define OPSAGENT_COMMON_VERSION_H_

namespace opsagent {

// Release of opsagent and opsctl; both are built and shipped together.
inline constexpr char kVersion[] = "0.1.0";

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_VERSION_H_
