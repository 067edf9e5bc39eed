#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_LOG_FILE_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_LOG_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace opsagent {

// The file an audit log is kept in. The log is only as good as its file:
// nobody but root and this user may change the directory it is in (or the
// path to it), it is not a symbolic link, nobody else may write it, and a
// new one is created readable by its owner only (SQLite gives its -wal and
// -shm files the same mode).

// Checks the file as above (and SQLite's -wal, -shm and -journal beside
// it) without creating anything: for --check_config, which must refuse
// what the start would. FAILED_PRECONDITION or UNAVAILABLE naming it.
absl::Status CheckAuditLogLocation(const std::string& path);

// Creates the file's missing directories (0700), then checks the file as
// above, creating it (0600) when it does not exist yet. FAILED_PRECONDITION
// for a location or file others could change, UNAVAILABLE for errors.
absl::Status PrepareAuditLogFile(const std::string& path);

// `status` with, when the filesystem holding `path` is (nearly) full, that
// said plainly: SQLite reports it as "disk I/O error" or "database or disk
// is full".
absl::Status WithSpaceHint(absl::Status status, const std::string& path);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_LOG_FILE_H_
