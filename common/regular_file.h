#ifndef OPSAGENT_COMMON_REGULAR_FILE_H_
#define OPSAGENT_COMMON_REGULAR_FILE_H_

#include <sys/stat.h>

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace opsagent {

// Reads the whole of a regular file of at most `max_bytes`. It is opened
// without blocking, so a FIFO or device planted at the path is refused, not
// waited on or read forever; `extra_open_flags` adds flags (O_NOFOLLOW).
// `check`, if given, sees the opened file's stat before anything is read
// (its owner, its mode) and may refuse it. Errors name the path.
absl::StatusOr<std::string> ReadRegularFile(
    const std::string& path, size_t max_bytes, int extra_open_flags = 0,
    const std::function<absl::Status(const struct stat&)>& check = nullptr);

// Reads a secret (a key, a token) of at most `max_bytes`: its path must pass
// CheckTrustedPath as a secret file, it is opened without following a
// symbolic link, and it must be owned by this process's user and readable
// by it alone. Errors name the path and the fix.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path,
                                           size_t max_bytes);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_REGULAR_FILE_H_
