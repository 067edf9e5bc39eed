#include "controller/audit/audit_store.h"

#include "absl/strings/str_cat.h"
#include "controller/audit/sqlite_audit_store.h"

namespace opsagent {

absl::StatusOr<std::unique_ptr<AuditStore>> AuditStore::Open(
    const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteAuditStore>> store =
      SqliteAuditStore::Open(path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<AuditStore>(*std::move(store));
}

absl::StatusOr<int64_t> AuditStore::RecordIntent(
    const v1::AuditIntent& intent) {
  absl::StatusOr<std::vector<int64_t>> ids = Commit({intent}, {});
  if (!ids.ok()) return ids.status();
  return ids->front();
}

absl::Status AuditStore::RecordResult(int64_t id,
                                      const v1::AuditResult& result) {
  return Commit({}, {{id, result}}).status();
}

absl::StatusOr<int64_t> AuditStore::SettleInterrupted(absl::Time now) {
  int64_t settled = 0;
  while (true) {
    // In bounded batches, each one transaction: a log left with a large
    // fan-out cut off is settled without holding it all in memory.
    absl::StatusOr<std::vector<v1::AuditEntry>> rows = OwnPending(1000);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return settled;
    std::vector<std::pair<int64_t, v1::AuditResult>> results;
    for (const v1::AuditEntry& row : *rows) {
      v1::AuditResult result;
      result.set_outcome(v1::OUTCOME_UNKNOWN);
      result.set_finished_at_ms(absl::ToUnixMillis(now));
      result.set_error_code("UNAVAILABLE");
      result.set_message(absl::StrCat(
          "the controller stopped before ", row.intent().host(),
          " answered (killed or restarted mid-call); whether it ran is in ",
          "the host's own journal: opsctl audit reconcile --host ",
          row.intent().host()));
      results.emplace_back(row.id(), std::move(result));
    }
    if (absl::Status done = Commit({}, results).status(); !done.ok())
      return done;
    settled += static_cast<int64_t>(results.size());
  }
}

}  // namespace opsagent
