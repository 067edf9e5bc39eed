#ifndef OPSAGENT_COMMON_TRUSTED_PATH_H_
#define OPSAGENT_COMMON_TRUSTED_PATH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace opsagent {

// What a trusted path holds, which decides how tight its mode must be.
enum class TrustedKind {
  kFile,        // a CA bundle, certificate, CRL, configuration, executable
  kSecretFile,  // a private key: also not readable by others
  kDirectory,   // a CRL directory, the directory of a journal
};

// Checks, as sshd's StrictModes does, that nobody but root and this process's
// user can change what `path` holds: the path itself and every directory on
// the way to it (symbolic links included, and then their targets) must be
// owned by root or the effective user and not writable by group or others.
// A directory that is writable by others but sticky and owned by root (/tmp)
// passes, since only its owners may rename what is in it. Errors name the
// offending path, its owner and mode, and the fix ("chmod go-w ...").
absl::Status CheckTrustedPath(const std::string& path, TrustedKind kind);

// Checks a file a daemon writes (an audit log, a journal, an export): its
// directory passes CheckTrustedPath and nobody but its owner may create
// names in it, sticky or not (others could plant what the daemon opens
// beside the file: SQLite's -wal, replayed into the database at its next
// open); the file, and each of `companions` (the path with that suffix),
// when it exists, is a regular file (not a symbolic link, FIFO or device)
// that passes CheckTrustedPath too. The daemons open such files with
// O_NOFOLLOW; their --check_config uses this so that it refuses what the
// start would. FAILED_PRECONDITION naming the path; UNAVAILABLE when it
// cannot be looked at.
absl::Status CheckWrittenFile(const std::string& path,
                              absl::Span<const char* const> companions = {});

// What SQLite keeps beside a database: CheckWrittenFile's companions.
inline constexpr const char* kSqliteCompanions[] = {"-wal", "-shm", "-journal"};

// The directory holding `path`: "/var/lib" for "/var/lib/opsctld.db", "/"
// for "/x", "." for a bare name.
std::string DirectoryOf(const std::string& path);

// A path given on a command line (`--config etc/agent.textproto`), made
// absolute against the working directory, as the shell user meant it; an
// absolute or empty path is returned as it is. Checks still take the result
// component by component.
std::string AbsoluteFromWorkingDirectory(const std::string& path);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TRUSTED_PATH_H_
