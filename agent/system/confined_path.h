#ifndef OPSAGENT_AGENT_SYSTEM_CONFINED_PATH_H_
#define OPSAGENT_AGENT_SYSTEM_CONFINED_PATH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/system/allowed_directory.h"
#include "agent/system/unique_fd.h"

namespace opsagent {

// A path an operator asked for, checked to lie at or below one of the allowed
// roots. Produced only by ConfinePath, so holding one means the text passed
// the lexical checks.
struct ConfinedPath {
  AllowedDirectory root;  // the allowed root it lies under, e.g. /edx/var/log
  std::string relative;   // below the root, "" for the root itself
  std::string full;       // root + "/" + relative, normalized; raw bytes
};

// Checks an untrusted path: valid UTF-8 text in which names that are not
// themselves printable UTF-8 are written as opsctl shows them ("\xff" for a
// raw byte, "\\" for a backslash, see UnescapeHostBytes); once decoded,
// absolute, no NUL, no "." or ".." components, at most PATH_MAX bytes, and
// at or below one of `roots`. Errors say why and list the roots.
absl::StatusOr<ConfinedPath> ConfinePath(
    absl::string_view path, const std::vector<AllowedDirectory>& roots);

// Opens the path relative to its root without following any symlink (not even
// in intermediate components) and without leaving the root, using openat2
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or component-wise O_NOFOLLOW on
// kernels without openat2. The root itself must still be the directory it
// was when the configuration was loaded (AllowedDirectory::Open). `flags`
// are open(2) flags; O_CLOEXEC is added.
absl::StatusOr<UniqueFd> OpenConfined(const ConfinedPath& path, int flags);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_CONFINED_PATH_H_
