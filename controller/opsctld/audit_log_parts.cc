#include "controller/opsctld/audit_log_parts.h"

#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/postgres/pg_connection.h"
#include "common/regular_file.h"
#include "common/status_macros.h"
#include "controller/audit/checkpoint_file.h"
#include "controller/audit/log_migration.h"
#include "controller/audit/postgres_audit_store.h"
#include "controller/audit/sqlite_audit_store.h"

namespace opsagent {
namespace {

std::string MachineName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "opsctld";
  return name;
}

}  // namespace

absl::StatusOr<std::string> ReadPostgresConnInfo(
    const v1::PostgresStoreConfig& config) {
  if (config.conninfo_file().empty()) {
    return absl::InvalidArgumentError(
        "config field postgresql.conninfo_file: required (a file holding "
        "the libpq connection string)");
  }
  absl::StatusOr<std::string> text =
      ReadSecretFile(config.conninfo_file(), 4096);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config field postgresql.conninfo_file: ", text.status().message()));
  }
  const std::string conninfo(absl::StripAsciiWhitespace(*text));
  if (conninfo.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config field postgresql.conninfo_file: ", config.conninfo_file(),
        " is empty"));
  }
  RETURN_IF_ERROR(CheckServerIsAuthenticated(
      conninfo, absl::StrCat("config field postgresql.conninfo_file (",
                             config.conninfo_file(), ")")));
  return conninfo;
}

std::string ControllerName(const v1::PostgresStoreConfig& config) {
  return config.controller_name().empty() ? MachineName()
                                          : config.controller_name();
}

absl::StatusOr<AuditLogParts> OpenAuditLog(const v1::OpsctldConfig& config) {
  AuditLogParts parts;
  if (!config.has_postgresql()) {
    ASSIGN_OR_RETURN(parts.writer, AuditStore::Open(config.audit_database()));
    ASSIGN_OR_RETURN(parts.reader, AuditStore::Open(config.audit_database()));
    return parts;
  }
  ASSIGN_OR_RETURN(const std::string conninfo,
                   ReadPostgresConnInfo(config.postgresql()));
  ASSIGN_OR_RETURN(
      std::unique_ptr<PostgresAuditStore> store,
      PostgresAuditStore::Open(conninfo, ControllerName(config.postgresql())));
  parts.writer = std::move(store);
  return parts;
}

absl::StatusOr<std::string> MigrateAuditLog(const v1::OpsctldConfig& config,
                                            const std::string& sqlite_path) {
  if (!config.has_postgresql()) {
    return absl::InvalidArgumentError(
        "--migrate_audit_from needs a `postgresql` section in the "
        "configuration: the log to migrate into");
  }
  ASSIGN_OR_RETURN(const std::string conninfo,
                   ReadPostgresConnInfo(config.postgresql()));
  const std::string name = ControllerName(config.postgresql());
  // Makes the tables, and holds this controller's name meanwhile.
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresAuditStore> store,
                   PostgresAuditStore::Open(conninfo, name));
  VerifyOptions options;
  std::unique_ptr<CheckpointVerifier> key;
  if (config.has_audit_checkpoints()) {
    ASSIGN_OR_RETURN(
        std::unique_ptr<CheckpointSigner> signer,
        CheckpointSigner::FromKeyFile(config.audit_checkpoints().key_file()));
    ASSIGN_OR_RETURN(key,
                     CheckpointVerifier::FromPem(signer->public_key_pem()));
    options.checkpoint_key = key.get();
    if (!config.audit_checkpoints().export_file().empty()) {
      ASSIGN_OR_RETURN(
          options.exported,
          ReadCheckpointFile(config.audit_checkpoints().export_file()));
    }
  }
  // The source first: a log that does not verify is not copied (its copy
  // would be the team's record, and would block copying the real one).
  absl::StatusOr<std::string> source = VerifyAuditLog(sqlite_path, options);
  if (!source.ok()) {
    return absl::DataLossError(
        absl::StrCat(sqlite_path, " does not verify, so nothing was copied: ",
                     source.status().message()));
  }
  ASSIGN_OR_RETURN(const MigratedLog copied,
                   MigrateSqliteLogToPostgres(sqlite_path, conninfo));
  absl::StatusOr<std::string> verified = store->Verify(options);
  if (!verified.ok()) {
    return absl::DataLossError(absl::StrCat(
        "copied ", copied.rows, " rows into ", store->Describe(),
        ", but the copy does not verify (the source did not either? check "
        "it with opsctl audit verify --database): ",
        verified.status().message()));
  }
  return absl::StrCat("copied ", copied.rows, " rows, ", copied.events,
                      " chain events and ", copied.checkpoints,
                      " checkpoints from ", sqlite_path, " into ",
                      store->Describe(), "; verified there: ", *verified);
}

}  // namespace opsagent
