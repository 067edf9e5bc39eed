#ifndef OPSAGENT_COMMON_SQLITE_STATEMENT_H_
#define OPSAGENT_COMMON_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// A prepared SQLite statement, finalized on destruction. Its errors name the
// database's file and what was being done ("/var/lib/opsctld/audit.db:
// recording the intent: disk I/O error"). Not thread-safe; the connection
// must outlive it.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    status_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }

  absl::Status status() const {
    if (status_ == SQLITE_OK) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(
        File(), ": preparing a statement: ", sqlite3_errstr(status_), " (",
        sqlite3_errmsg(db_), ")"));
  }
  void Bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
  }
  void Bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  // Ready to be bound and stepped again.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  absl::Status Error(absl::string_view doing) const {
    return absl::UnavailableError(
        absl::StrCat(File(), ": ", doing, ": ", sqlite3_errmsg(db_)));
  }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text ? std::string(reinterpret_cast<const char*>(text),
                              sqlite3_column_bytes(stmt_, column))
                : "";
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }

 private:
  std::string File() const {
    const char* file = sqlite3_db_filename(db_, "main");
    return file != nullptr && *file ? file : "SQLite database";
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int status_;
};

// Runs `sql` (statements without results) on `db`; an error names `what`
// ("audit log /var/lib/opsctld/audit.db", "incidents").
absl::Status ExecSql(sqlite3* db, const char* sql, absl::string_view what);

// Runs `sql` (statements without results) on `db`; UNAVAILABLE naming
// `what` ("audit log /var/lib/opsctld/audit.db", "incidents") on error.
inline absl::Status ExecSql(sqlite3* db, const char* sql,
                            absl::string_view what) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) == SQLITE_OK)
    return absl::OkStatus();
  absl::Status status = absl::UnavailableError(
      absl::StrCat(what, ": ", error ? error : sqlite3_errmsg(db)));
  sqlite3_free(error);
  return status;
}

// Runs `work` (which returns an absl::StatusOr) in one write transaction
// (BEGIN IMMEDIATE) of `db`: committed when it succeeds, rolled back when
// it or the commit fails. Errors name `what`.
template <typename Work>
auto InWriteTransaction(sqlite3* db, absl::string_view what, Work work)
    -> decltype(work()) {
  if (absl::Status begun = ExecSql(db, "BEGIN IMMEDIATE", what); !begun.ok())
    return begun;
  auto done = work();
  if (!done.ok()) {
    ExecSql(db, "ROLLBACK", what).IgnoreError();
    return done;
  }
  if (absl::Status committed = ExecSql(db, "COMMIT", what); !committed.ok()) {
    ExecSql(db, "ROLLBACK", what).IgnoreError();
    return committed;
  }
  return done;
}

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_SQLITE_STATEMENT_H_
