#include "controller/enroll/enrollment_store.h"

#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/sqlite_statement.h"
#include "nlohmann/json.hpp"

namespace opsagent {
namespace {

constexpr int kBusyTimeoutMs = 30000;
constexpr char kWhat[] = "enrollment";

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS enrollment_tokens (
  id TEXT PRIMARY KEY,
  secret_sha256 TEXT NOT NULL,
  roles_json TEXT NOT NULL,
  environment TEXT NOT NULL,
  names_json TEXT NOT NULL,
  uses INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0,
  certificate_seconds INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at_ms INTEGER NOT NULL DEFAULT 0,
  revoked_by TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS host_certificates (
  serial TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  roles_json TEXT NOT NULL,
  environment TEXT NOT NULL,
  token_id TEXT NOT NULL,
  not_after_ms INTEGER NOT NULL,
  life_seconds INTEGER NOT NULL,
  revoked_at_ms INTEGER NOT NULL DEFAULT 0,
  renewed_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS host_certificates_by_host
  ON host_certificates (host);
CREATE TABLE IF NOT EXISTS host_crl_number (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  number INTEGER NOT NULL
);
)sql";

constexpr char kTokenColumns[] =
    "id, roles_json, environment, names_json, uses, used, certificate_seconds, "
    "created_at_ms, expires_at_ms, created_by, revoked_at_ms, revoked_by";

void AddStrings(const std::string& json,
                google::protobuf::RepeatedPtrField<std::string>* out) {
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, false);
  if (!parsed.is_array()) return;
  for (const auto& item : parsed) {
    if (item.is_string()) out->Add(item.get<std::string>());
  }
}

template <typename List>
std::string StringsJson(const List& list) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const std::string& item : list) array.push_back(item);
  return DumpJson(array);
}

v1::EnrollmentToken TokenFromRow(const Statement& row) {
  v1::EnrollmentToken token;
  token.set_id(row.Text(0));
  AddStrings(row.Text(1), token.mutable_roles());
  token.set_environment(row.Text(2));
  AddStrings(row.Text(3), token.mutable_names());
  token.set_uses(static_cast<uint32_t>(row.Int(4)));
  token.set_used(static_cast<uint32_t>(row.Int(5)));
  token.set_certificate_seconds(static_cast<uint32_t>(row.Int(6)));
  token.set_created_at_ms(row.Int(7));
  token.set_expires_at_ms(row.Int(8));
  token.set_created_by(row.Text(9));
  token.set_revoked_at_ms(row.Int(10));
  token.set_revoked_by(row.Text(11));
  return token;
}

}  // namespace

absl::Status CheckTokenUsable(const v1::EnrollmentToken& token,
                              absl::Time now) {
  if (token.revoked_at_ms() != 0)
    return absl::FailedPreconditionError(
        absl::StrCat("enrollment token ", token.id(), " was revoked by ",
                     token.revoked_by()));
  if (absl::ToUnixMillis(now) >= token.expires_at_ms())
    return absl::FailedPreconditionError(absl::StrCat(
        "enrollment token ", token.id(), " expired at ",
        absl::FormatTime(absl::FromUnixMillis(token.expires_at_ms()))));
  if (token.used() >= token.uses())
    return absl::FailedPreconditionError(
        absl::StrCat("enrollment token ", token.id(), " is used up (",
                     token.uses(), " of ", token.uses(), " hosts enrolled)"));
  return absl::OkStatus();
}

namespace {

absl::Status InsertCertificate(sqlite3* db, const HostCertificateRecord& c) {
  Statement insert(db,
                   "INSERT INTO host_certificates (serial, host, roles_json, "
                   "environment, token_id, not_after_ms, life_seconds) VALUES "
                   "(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert.status().ok()) return insert.status();
  insert.Bind(1, c.serial_hex);
  insert.Bind(2, c.host);
  insert.Bind(3, StringsJson(c.roles));
  insert.Bind(4, c.environment);
  insert.Bind(5, c.token_id);
  insert.Bind(6, absl::ToUnixMillis(c.not_after));
  insert.Bind(7, absl::ToInt64Seconds(c.life));
  if (insert.Step() != SQLITE_DONE)
    return insert.Error("recording an issued certificate");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EnrollmentStore>> EnrollmentStore::Open(
    const std::string& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
                      nullptr);
  std::unique_ptr<EnrollmentStore> store(new EnrollmentStore(db));
  if (rc != SQLITE_OK)
    return absl::UnavailableError(
        absl::StrCat("enrollment: cannot open ", path, ": ",
                     db ? sqlite3_errmsg(db) : "out of memory"));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (absl::Status schema = ExecSql(db, kSchema, kWhat); !schema.ok())
    return schema;
  return store;
}

EnrollmentStore::~EnrollmentStore() { sqlite3_close_v2(db_); }

absl::Status EnrollmentStore::AddToken(const v1::EnrollmentToken& token,
                                       const std::string& secret_sha256) {
  absl::MutexLock lock(&mutex_);
  Statement insert(
      db_,
      "INSERT INTO enrollment_tokens (id, secret_sha256, roles_json, "
      "environment, names_json, uses, certificate_seconds, created_at_ms, "
      "expires_at_ms, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
      "?9, ?10)");
  if (!insert.status().ok()) return insert.status();
  insert.Bind(1, token.id());
  insert.Bind(2, secret_sha256);
  insert.Bind(3, StringsJson(token.roles()));
  insert.Bind(4, token.environment());
  insert.Bind(5, StringsJson(token.names()));
  insert.Bind(6, int64_t{token.uses()});
  insert.Bind(7, int64_t{token.certificate_seconds()});
  insert.Bind(8, token.created_at_ms());
  insert.Bind(9, token.expires_at_ms());
  insert.Bind(10, token.created_by());
  if (insert.Step() != SQLITE_DONE)
    return insert.Error("storing an enrollment token");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::EnrollmentToken>> EnrollmentStore::ListTokens(
    bool all, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  Statement select(
      db_, absl::StrCat("SELECT ", kTokenColumns,
                        " FROM enrollment_tokens ORDER BY created_at_ms DESC, "
                        "id LIMIT 1000"));
  if (!select.status().ok()) return select.status();
  std::vector<v1::EnrollmentToken> tokens;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    v1::EnrollmentToken token = TokenFromRow(select);
    if (all || CheckTokenUsable(token, now).ok()) tokens.push_back(token);
  }
  if (rc != SQLITE_DONE) return select.Error("listing enrollment tokens");
  return tokens;
}

absl::StatusOr<v1::EnrollmentToken> EnrollmentStore::RevokeToken(
    const std::string& id, const std::string& by, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  return InWriteTransaction(
      db_, kWhat, [&]() -> absl::StatusOr<v1::EnrollmentToken> {
        Statement select(db_, absl::StrCat("SELECT ", kTokenColumns,
                                           " FROM enrollment_tokens WHERE "
                                           "id = ?1"));
        select.Bind(1, id);
        if (select.Step() != SQLITE_ROW)
          return absl::NotFoundError(
              absl::StrCat("no enrollment token ", id,
                           " (`opsctl enroll token list --all`)"));
        v1::EnrollmentToken token = TokenFromRow(select);
        if (token.revoked_at_ms() != 0)
          return absl::FailedPreconditionError(
              absl::StrCat("enrollment token ", id, " was already revoked by ",
                           token.revoked_by()));
        Statement update(db_,
                         "UPDATE enrollment_tokens SET revoked_at_ms = ?2, "
                         "revoked_by = ?3 WHERE id = ?1");
        update.Bind(1, id);
        update.Bind(2, absl::ToUnixMillis(now));
        update.Bind(3, by);
        if (update.Step() != SQLITE_DONE)
          return update.Error("revoking an enrollment token");
        token.set_revoked_at_ms(absl::ToUnixMillis(now));
        token.set_revoked_by(by);
        return token;
      });
}

absl::StatusOr<v1::EnrollmentToken> EnrollmentStore::FindToken(
    const std::string& id, const std::string& secret_sha256) {
  absl::MutexLock lock(&mutex_);
  Statement select(db_, absl::StrCat("SELECT ", kTokenColumns,
                                     ", secret_sha256 FROM enrollment_tokens "
                                     "WHERE id = ?1"));
  if (!select.status().ok()) return select.status();
  select.Bind(1, id);
  const auto refused = absl::UnauthenticatedError(
      "the enrollment token is not one this controller gave out");
  if (select.Step() != SQLITE_ROW) return refused;
  const std::string stored = select.Text(12);
  if (stored.size() != secret_sha256.size() ||
      CRYPTO_memcmp(stored.data(), secret_sha256.data(), stored.size()) != 0)
    return refused;
  return TokenFromRow(select);
}

absl::Status EnrollmentStore::RecordEnrollment(
    const std::string& token_id, const HostCertificateRecord& issued,
    absl::Time now) {
  absl::MutexLock lock(&mutex_);
  return InWriteTransaction(db_, kWhat, [&]() -> absl::Status {
    Statement select(db_, absl::StrCat("SELECT ", kTokenColumns,
                                       " FROM enrollment_tokens WHERE id = "
                                       "?1"));
    select.Bind(1, token_id);
    if (select.Step() != SQLITE_ROW)
      return absl::NotFoundError(
          absl::StrCat("no enrollment token ", token_id));
    if (absl::Status usable = CheckTokenUsable(TokenFromRow(select), now);
        !usable.ok())
      return usable;
    Statement use(db_,
                  "UPDATE enrollment_tokens SET used = used + 1 WHERE id = ?1");
    use.Bind(1, token_id);
    if (use.Step() != SQLITE_DONE)
      return use.Error("using an enrollment token");
    return InsertCertificate(db_, issued);
  });
}

absl::Status EnrollmentStore::RecordRenewal(
    const std::string& previous_serial, const HostCertificateRecord& issued) {
  absl::MutexLock lock(&mutex_);
  return InWriteTransaction(db_, kWhat, [&]() -> absl::Status {
    Statement mark(db_,
                   "UPDATE host_certificates SET renewed_by = ?2 WHERE "
                   "serial = ?1 AND host = ?3 AND revoked_at_ms = 0");
    mark.Bind(1, previous_serial);
    mark.Bind(2, issued.serial_hex);
    mark.Bind(3, issued.host);
    if (mark.Step() != SQLITE_DONE) return mark.Error("recording a renewal");
    if (sqlite3_changes(db_) != 1)
      return absl::FailedPreconditionError(
          "the certificate being renewed was revoked meanwhile");
    return InsertCertificate(db_, issued);
  });
}

std::optional<HostCertificateRecord> EnrollmentStore::FindCertificate(
    const std::string& serial_hex) {
  absl::MutexLock lock(&mutex_);
  Statement select(db_,
                   "SELECT serial, host, roles_json, environment, token_id, "
                   "not_after_ms, revoked_at_ms, life_seconds FROM "
                   "host_certificates WHERE serial = ?1");
  select.Bind(1, serial_hex);
  if (select.Step() != SQLITE_ROW) return std::nullopt;
  HostCertificateRecord record;
  record.serial_hex = select.Text(0);
  record.host = select.Text(1);
  google::protobuf::RepeatedPtrField<std::string> roles;
  AddStrings(select.Text(2), &roles);
  record.roles.assign(roles.begin(), roles.end());
  record.environment = select.Text(3);
  record.token_id = select.Text(4);
  record.not_after = absl::FromUnixMillis(select.Int(5));
  if (select.Int(6) != 0)
    record.revoked_at = absl::FromUnixMillis(select.Int(6));
  record.life = absl::Seconds(select.Int(7));
  return record;
}

absl::StatusOr<std::vector<std::string>> EnrollmentStore::RevokeHost(
    const std::string& host, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  return InWriteTransaction(
      db_, kWhat, [&]() -> absl::StatusOr<std::vector<std::string>> {
        Statement select(db_,
                         "SELECT serial FROM host_certificates WHERE host = ?1 "
                         "AND revoked_at_ms = 0 AND not_after_ms > ?2");
        select.Bind(1, host);
        select.Bind(2, absl::ToUnixMillis(now));
        std::vector<std::string> serials;
        while (select.Step() == SQLITE_ROW) serials.push_back(select.Text(0));
        Statement revoke(db_,
                         "UPDATE host_certificates SET revoked_at_ms = ?2 "
                         "WHERE serial = ?1");
        for (const std::string& serial : serials) {
          revoke.Reset();
          revoke.Bind(1, serial);
          revoke.Bind(2, absl::ToUnixMillis(now));
          if (revoke.Step() != SQLITE_DONE)
            return revoke.Error("revoking a host certificate");
        }
        return serials;
      });
}

absl::Time EnrollmentStore::LastRevocation(const std::string& host) {
  absl::MutexLock lock(&mutex_);
  Statement select(db_,
                   "SELECT MAX(revoked_at_ms) FROM host_certificates WHERE "
                   "host = ?1 AND revoked_at_ms != 0");
  select.Bind(1, host);
  if (select.Step() != SQLITE_ROW || select.IsNull(0))
    return absl::InfinitePast();
  return absl::FromUnixMillis(select.Int(0));
}

absl::StatusOr<EnrollmentStore::CrlContent> EnrollmentStore::NextCrl(
    absl::Time now) {
  absl::MutexLock lock(&mutex_);
  return InWriteTransaction(db_, kWhat, [&]() -> absl::StatusOr<CrlContent> {
    CrlContent content;
    Statement select(db_,
                     "SELECT serial, revoked_at_ms FROM host_certificates "
                     "WHERE revoked_at_ms != 0 AND not_after_ms > ?1 ORDER BY "
                     "serial");
    select.Bind(1, absl::ToUnixMillis(now));
    while (select.Step() == SQLITE_ROW)
      content.revoked.emplace_back(select.Text(0),
                                   absl::FromUnixMillis(select.Int(1)));
    Statement bump(db_,
                   "INSERT INTO host_crl_number (only, number) VALUES (1, 1) "
                   "ON CONFLICT (only) DO UPDATE SET number = number + 1 "
                   "RETURNING number");
    if (bump.Step() != SQLITE_ROW) return bump.Error("numbering the CRL");
    content.number = bump.Int(0);
    return content;
  });
}

}  // namespace opsagent
