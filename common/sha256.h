#ifndef OPSAGENT_COMMON_SHA256_H_
#define OPSAGENT_COMMON_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace opsagent {

// SHA-256 of `bytes`, as 64 lowercase hex digits: the digests the agent's
// journal, its retry cache and the incident store keep and compare.
std::string Sha256Hex(absl::string_view bytes);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_SHA256_H_
