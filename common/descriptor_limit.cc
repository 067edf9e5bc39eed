#include "common/descriptor_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace opsagent {

absl::StatusOr<uint64_t> RaiseDescriptorLimit(uint64_t needed,
                                              absl::string_view needed_for) {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(
        absl::StrCat("getrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
  }
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      return absl::InternalError(
          absl::StrCat("setrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
    }
  }
  if (limit.rlim_cur < needed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the descriptor limit is ", limit.rlim_cur, " but ", needed_for,
        " needs at least ", needed,
        "; raise LimitNOFILE= in the unit, or lower ", needed_for));
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

}  // namespace opsagent
