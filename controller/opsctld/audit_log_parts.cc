#include "controller/opsctld/audit_log_parts.h"

#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/regular_file.h"
#include "common/status_macros.h"
#include "controller/audit/postgres_audit_store.h"

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
  return conninfo;
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
  const std::string name = config.postgresql().controller_name().empty()
                               ? MachineName()
                               : config.postgresql().controller_name();
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresAuditStore> store,
                   PostgresAuditStore::Open(conninfo, name));
  parts.writer = std::move(store);
  return parts;
}

}  // namespace opsagent
