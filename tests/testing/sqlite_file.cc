#include "tests/testing/sqlite_file.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace opsagent::testing {

absl::Status ExecSqlite(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    absl::Status error = absl::InternalError(absl::StrCat(
        "cannot open ", path, ": ", db ? sqlite3_errmsg(db) : "no memory"));
    sqlite3_close(db);
    return error;
  }
  char* message = nullptr;
  absl::Status status;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    status = absl::InternalError(
        absl::StrCat(path, ": ", message ? message : sqlite3_errmsg(db)));
  }
  sqlite3_free(message);
  sqlite3_close(db);
  return status;
}

}  // namespace opsagent::testing
