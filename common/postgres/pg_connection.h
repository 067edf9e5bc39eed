#ifndef OPSAGENT_COMMON_POSTGRES_PG_CONNECTION_H_
#define OPSAGENT_COMMON_POSTGRES_PG_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct pg_conn;
struct pg_result;

namespace opsagent {

// A query's parameter as libpq takes it: text, or SQL NULL.
using PgParam = std::optional<std::string>;
inline PgParam PgInt(int64_t value) { return std::to_string(value); }

// The rows a query returned, freed on destruction. Columns are read as
// text or as integers; Row reads one row with the names Statement
// (common/sqlite_statement.h) uses, so that code reading a row is written
// once for both databases.
class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(other.result_) {
    other.result_ = nullptr;
  }
  PgResult& operator=(PgResult&& other) noexcept {
    std::swap(result_, other.result_);
    return *this;
  }
  ~PgResult();

  int rows() const;
  // How many rows an INSERT, UPDATE or DELETE changed.
  int64_t changed() const;

  class Row {
   public:
    Row(const PgResult& result, int row) : result_(result), row_(row) {}
    std::string Text(int column) const;
    int64_t Int(int column) const;
    bool IsNull(int column) const;

   private:
    const PgResult& result_;
    const int row_;
  };
  Row row(int i) const { return Row(*this, i); }

 private:
  friend class PgConnection;
  pg_result* result_;
};

// OK when nobody between this process and the server `conninfo` names
// could pose as the server, for every host of its list: Unix sockets only
// (their directory's owner decides who listens there), or
// sslmode=verify-full (each TCP server's certificate checked, its name
// included). Anything else (a TCP host or a service file with sslmode
// disable, prefer, require or verify-ca), from the string or libpq's PG*
// environment, is FAILED_PRECONDITION: a neighbour on the address, or on
// the path to it, could answer as the database. Checked before connecting.
absl::Status CheckServerIsAuthenticated(const std::string& conninfo,
                                        absl::string_view what);

// One connection to PostgreSQL (libpq), used by one thread at a time.
// Every error is UNAVAILABLE (or ABORTED for a serialization failure or a
// deadlock, which a caller may retry), naming `what` the connection is for
// ("audit log on PostgreSQL"), what was being done, and the server's words.
// A connection found broken (the server restarted, the network cut) fails
// every query until Reconnect: never silently in the middle of a
// transaction, whose later statements would otherwise run on their own.
class PgConnection {
 public:
  // Connects with a libpq connection string ("host=/run/postgresql
  // dbname=opsagent", or a postgresql:// URI), within 5 s unless it sets
  // connect_timeout, the session named `application_name` (what
  // pg_stat_activity shows) unless it names it itself.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      const std::string& conninfo, std::string what,
      const std::string& application_name = "opsagent");
  ~PgConnection();

  // Runs `sql` with `params` ($1, $2, ...), in the current transaction if
  // one is open.
  absl::StatusOr<PgResult> Query(absl::string_view doing,
                                 const std::string& sql,
                                 const std::vector<PgParam>& params = {});
  // Re-establishes a broken connection (a no-op on a working one): at the
  // start of a transaction or of a read, never inside a transaction.
  absl::Status Reconnect();

  // Query for statements whose rows do not matter.
  absl::Status Exec(absl::string_view doing, const std::string& sql,
                    const std::vector<PgParam>& params = {});

  // Runs several statements separated by semicolons (a schema; "BEGIN;
  // SELECT ..." in one round trip), without parameters (libpq's simple
  // query protocol); returns the last statement's rows.
  absl::StatusOr<PgResult> QueryScript(absl::string_view doing,
                                       const std::string& sql);
  absl::Status ExecScript(absl::string_view doing, const std::string& sql) {
    return QueryScript(doing, sql).status();
  }

  // Whether the connection was found lost (a query failed with it).
  bool broken() const;

  // The server's process for this connection (pg_backend_pid()), or 0.
  int backend_pid() const;
  // "database NAME on HOST:PORT", for messages (never the password).
  std::string Describe() const;

 private:
  // UNAVAILABLE naming `doing` when the connection was found lost.
  absl::Status Connected(absl::string_view doing) const;
  // `result` when it succeeded; otherwise its error, naming `doing`.
  absl::StatusOr<PgResult> Checked(PgResult result, absl::string_view doing);

  PgConnection(pg_conn* conn, std::string what)
      : conn_(conn), what_(std::move(what)) {}

  pg_conn* conn_;
  const std::string what_;
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_POSTGRES_PG_CONNECTION_H_
