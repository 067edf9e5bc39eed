#ifndef OPSAGENT_TESTS_TESTING_SQLITE_FILE_H_
#define OPSAGENT_TESTS_TESTING_SQLITE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace opsagent::testing {

// Runs `sql` on the SQLite database at `path` with a connection of its
// own, as someone with the file and the sqlite3 shell would (to tamper
// with an audit log, or make it look like an older release's). Errors carry
// SQLite's message.
absl::Status ExecSqlite(const std::string& path, const std::string& sql);

// The first column of the first row `sql` returns, as an integer.
absl::StatusOr<int64_t> QuerySqliteInt(const std::string& path,
                                       const std::string& sql);

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_SQLITE_FILE_H_
