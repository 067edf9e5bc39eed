#ifndef OPSAGENT_BENCH_OPEN_AUDIT_STORE_H_
#define OPSAGENT_BENCH_OPEN_AUDIT_STORE_H_

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/postgres_audit_store.h"

namespace opsagent {

// The audit log a benchmark names: "postgresql:CONNINFO" for PostgreSQL
// (written as the controller "bench"), anything else an SQLite file.
inline absl::StatusOr<std::unique_ptr<AuditStore>> OpenBenchStore(
    const std::string& spec) {
  constexpr absl::string_view kPostgres = "postgresql:";
  if (!absl::StartsWith(spec, kPostgres)) return AuditStore::Open(spec);
  absl::StatusOr<std::unique_ptr<PostgresAuditStore>> store =
      PostgresAuditStore::Open(spec.substr(kPostgres.size()), "bench");
  if (!store.ok()) return store.status();
  return std::unique_ptr<AuditStore>(*std::move(store));
}

}  // namespace opsagent

#endif  // OPSAGENT_BENCH_OPEN_AUDIT_STORE_H_
