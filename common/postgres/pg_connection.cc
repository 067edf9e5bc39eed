#include "common/postgres/pg_connection.h"

// Debian installs it under postgresql/; pkg-config's -I does not reach
// the targets that depend on the library.
#include <postgresql/libpq-fe.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace opsagent {
namespace {

// SQLSTATEs a caller may retry: serialization_failure, deadlock_detected.
bool IsRetryable(const char* sqlstate) {
  return sqlstate != nullptr && (std::strcmp(sqlstate, "40001") == 0 ||
                                 std::strcmp(sqlstate, "40P01") == 0);
}

std::string Trimmed(const char* message) {
  return std::string(
      absl::StripTrailingAsciiWhitespace(message ? message : "unknown error"));
}

}  // namespace

PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}

int PgResult::rows() const { return PQntuples(result_); }

int64_t PgResult::changed() const {
  int64_t changed = 0;
  return absl::SimpleAtoi(PQcmdTuples(result_), &changed) ? changed : 0;
}

std::string PgResult::Row::Text(int column) const {
  return std::string(PQgetvalue(result_.result_, row_, column),
                     PQgetlength(result_.result_, row_, column));
}

int64_t PgResult::Row::Int(int column) const {
  const char* text = PQgetvalue(result_.result_, row_, column);
  if (std::strcmp(text, "t") == 0) return 1;  // a boolean column
  return std::strtoll(text, nullptr, 10);
}

bool PgResult::Row::IsNull(int column) const {
  return PQgetisnull(result_.result_, row_, column) != 0;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& conninfo, std::string what,
    const std::string& application_name) {
  // The string is expanded where `dbname` stands: it overrides the
  // default before it (libpq waits forever for a connection unless told),
  // and names the session (pg_stat_activity) unless it does so itself.
  const char* const keywords[] = {"connect_timeout", "dbname",
                                  "fallback_application_name", nullptr};
  const char* const values[] = {"5", conninfo.c_str(), application_name.c_str(),
                                nullptr};
  pg_conn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr)
    return absl::UnavailableError(absl::StrCat(what, ": out of memory"));
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status error = absl::UnavailableError(absl::StrCat(
        what,
        ": cannot connect to PostgreSQL: ", Trimmed(PQerrorMessage(conn))));
    PQfinish(conn);
    return error;
  }
  // The server's notices ("relation already exists, skipping") are not
  // errors, and not for stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn, std::move(what)));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

absl::Status CheckServerIsAuthenticated(const std::string& conninfo,
                                        absl::string_view what) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    absl::Status parse = absl::InvalidArgumentError(
        absl::StrCat(what, ": the connection string does not parse: ",
                     Trimmed(error != nullptr ? error : "out of memory")));
    PQfreemem(error);
    return parse;
  }
  // What libpq will use: the string's value, else its environment's.
  const auto setting = [&](const char* keyword, const char* variable) {
    for (PQconninfoOption* option = options; option->keyword != nullptr;
         ++option) {
      if (std::strcmp(option->keyword, keyword) == 0 && option->val != nullptr)
        return std::string(option->val);
    }
    const char* from_environment = std::getenv(variable);
    return std::string(from_environment != nullptr ? from_environment : "");
  };
  const std::string sslmode = setting("sslmode", "PGSSLMODE");
  const std::string hosts = setting("host", "PGHOST");
  const std::string hostaddrs = setting("hostaddr", "PGHOSTADDR");
  const std::string service = setting("service", "PGSERVICE");
  PQconninfoFree(options);
  if (sslmode == "verify-full") return absl::OkStatus();
  std::string tcp;
  for (absl::string_view host : absl::StrSplit(hosts, ',')) {
    if (!host.empty() && host[0] != '/') tcp = std::string(host);
  }
  if (!hostaddrs.empty()) tcp = hostaddrs;
  // A service file may name any host: only with verify-full.
  if (!service.empty()) tcp = absl::StrCat("the service ", service);
  if (tcp.empty()) return absl::OkStatus();  // Unix sockets only
  return absl::FailedPreconditionError(absl::StrCat(
      what, ": ", tcp, " is reached over TCP with sslmode=",
      sslmode.empty() ? "(unset)" : sslmode,
      ": anyone on that address or the path to it could answer as the "
      "database. Use a Unix socket (host=/var/run/postgresql), or TLS with "
      "sslmode=verify-full and sslrootcert naming the server's CA"));
}

bool PgConnection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }

int PgConnection::backend_pid() const { return PQbackendPID(conn_); }

std::string PgConnection::Describe() const {
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  return absl::StrCat("database ", PQdb(conn_) ? PQdb(conn_) : "?", " on ",
                      host ? host : "?", ":", port ? port : "?");
}

absl::Status PgConnection::Reconnect() {
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  PQreset(conn_);
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      what_, ": PostgreSQL is unreachable: ", Trimmed(PQerrorMessage(conn_))));
}

absl::Status PgConnection::Connected(absl::string_view doing) const {
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      what_, ": ", doing, ": the connection to PostgreSQL was lost: ",
      Trimmed(PQerrorMessage(conn_))));
}

absl::StatusOr<PgResult> PgConnection::QueryScript(absl::string_view doing,
                                                   const std::string& sql) {
  if (absl::Status connected = Connected(doing); !connected.ok())
    return connected;
  PgResult result(PQexec(conn_, sql.c_str()));
  return Checked(std::move(result), doing);
}

absl::StatusOr<PgResult> PgConnection::Checked(PgResult result,
                                               absl::string_view doing) {
  pg_result* const raw = result.result_;
  const ExecStatusType status =
      raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* sqlstate =
      raw == nullptr ? nullptr : PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  const std::string message =
      absl::StrCat(what_, ": ", doing, ": ",
                   Trimmed(raw != nullptr ? PQresultErrorMessage(raw)
                                          : PQerrorMessage(conn_)));
  if (IsRetryable(sqlstate)) return absl::AbortedError(message);
  return absl::UnavailableError(message);
}

absl::StatusOr<PgResult> PgConnection::Query(
    absl::string_view doing, const std::string& sql,
    const std::vector<PgParam>& params) {
  if (absl::Status connected = Connected(doing); !connected.ok())
    return connected;
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& param : params)
    values.push_back(param.has_value() ? param->c_str() : nullptr);
  PgResult result(PQexecParams(conn_, sql.c_str(),
                               static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
  return Checked(std::move(result), doing);
}

absl::Status PgConnection::Exec(absl::string_view doing, const std::string& sql,
                                const std::vector<PgParam>& params) {
  return Query(doing, sql, params).status();
}

}  // namespace opsagent
