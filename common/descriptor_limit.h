#ifndef OPSAGENT_COMMON_DESCRIPTOR_LIMIT_H_
#define OPSAGENT_COMMON_DESCRIPTOR_LIMIT_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// Sets this process's soft limit on open descriptors (RLIMIT_NOFILE) to its
// hard limit, which the unit sets deliberately (LimitNOFILE=), and checks
// that it leaves room for `needed` descriptors. Returns the limit in effect;
// fails, naming LimitNOFILE and `needed_for` (the setting that asks for
// them, "limits.max_connections"), when the hard limit is too low.
absl::StatusOr<uint64_t> RaiseDescriptorLimit(uint64_t needed,
                                              absl::string_view needed_for);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_DESCRIPTOR_LIMIT_H_
