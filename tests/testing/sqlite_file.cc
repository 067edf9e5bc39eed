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

absl::StatusOr<int64_t> QuerySqliteInt(const std::string& path,
                                       const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    absl::Status error = absl::InternalError(absl::StrCat(
        "cannot open ", path, ": ", db ? sqlite3_errmsg(db) : "no memory"));
    sqlite3_close(db);
    return error;
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* statement = nullptr;
  absl::StatusOr<int64_t> value =
      absl::InternalError(absl::StrCat(path, ": ", sql, " returned no row"));
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) !=
      SQLITE_OK) {
    value = absl::InternalError(absl::StrCat(path, ": ", sqlite3_errmsg(db)));
  } else if (sqlite3_step(statement) == SQLITE_ROW) {
    value = sqlite3_column_int64(statement, 0);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

}  // namespace opsagent::testing
