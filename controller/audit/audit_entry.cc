#include "controller/audit/audit_entry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace opsagent {

absl::Status CheckReceived(const v1::AuditEntry& entry) {
  for (const int outcome : {static_cast<int>(entry.outcome()),
                            static_cast<int>(entry.result().outcome())}) {
    if (!v1::Outcome_IsValid(outcome)) {
      return absl::DataLossError(
          absl::StrCat("audit row ", entry.id(),
                       " has an outcome this opsctl does not know (", outcome,
                       "); are opsctl and opsctld of one release?"));
    }
  }
  if (!entry.has_result() && entry.outcome() != v1::OUTCOME_PENDING) {
    return absl::DataLossError(absl::StrCat(
        "audit row ", entry.id(), " says ", OutcomeName(entry.outcome()),
        " with no result: not shown as it"));
  }
  if (entry.has_result() && entry.result().outcome() != entry.outcome()) {
    return absl::DataLossError(absl::StrCat(
        "audit row ", entry.id(), " says two outcomes (",
        OutcomeName(entry.outcome()), " and ",
        OutcomeName(entry.result().outcome()), "): not shown as either"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::AuditQuery> BoundedQuery(v1::AuditQuery query) {
  if (query.has_outcome() && !v1::Outcome_IsValid(query.outcome()))
    return absl::InvalidArgumentError(
        absl::StrCat("unknown outcome (", query.outcome(), ")"));
  // A reply stays a reply, not a dump of the whole log.
  query.set_limit(
      query.limit() == 0 ? 100 : std::min<uint32_t>(query.limit(), 100000));
  return query;
}

absl::Status CheckReceived(const v1::ExportAuditItem& item) {
  if (absl::StatusOr<AuditCursor> cursor = AuditCursor::Parse(item.cursor());
      !cursor.ok())
    return cursor.status();
  return item.has_checkpoint() ? absl::OkStatus() : CheckReceived(item.entry());
}

}  // namespace opsagent
