#ifndef OPSAGENT_CONTROLLER_AUDIT_RECONCILE_H_
#define OPSAGENT_CONTROLLER_AUDIT_RECONCILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "controller/audit/audit_record.h"
#include "opsagent/v1/journal.pb.h"

namespace opsagent {

// The two witnesses compared: the team's audit log (the controller's) and
// one agent's own journal, matched by request id (`opsctl audit
// reconcile`).

enum class FindingKind {
  // The agent changed the host on a direct (break-glass) call; the team
  // log has no row for it.
  kUnloggedChange,
  // The controller relayed a call the agent ran; the team log has no row
  // for it: deleted from the database.
  kMissingRow,
  // The agent refused a relayed call the team log has no row for (a
  // request forged or replayed by the controller).
  kUnloggedRefusal,
  // The team log says the call reached the agent; the agent has no record
  // of it.
  kNotRun,
  // Both have it; the outcomes disagree (or the log says unknown or
  // pending, and the agent knows how it ended).
  kOutcomeDiffers,
  // Both have it; who asked, why, or with what parameters differs between
  // the team log and what the agent received.
  kRequestDiffers,
  // The answer the team log recorded is not the one the agent journaled,
  // or not signed by the host.
  kResultDiffers,
  // A direct (break-glass) read the team log has no row for: listed, not a
  // discrepancy.
  kUnloggedRead,
};

absl::string_view FindingName(FindingKind kind);

struct Finding {
  FindingKind kind;
  std::string host;
  std::string time;  // RFC 3339
  std::string request_id;
  std::string operation;
  std::string detail;
};

struct HostReconciliation {
  std::vector<Finding> findings;
  int64_t matched = 0;  // calls both witnesses agree on
};

// Compares `rows` (the team log's rows for `host` since `since_ms`, and a
// margin before) with the host's journal records (from `since_ms`, and the
// same margin), ignoring `own_request_ids` (the journal reads themselves,
// one a page). Where the agent cut a text it journaled, the whole text's
// digest is compared; a read the agent counted over its caller's
// journaling rate (NOT_JOURNALED) is not expected in the journal.
// `certificate_pem`, the host's verified certificates (its current one and
// those it renewed from, HostSigningCertificates), checks the agent
// signatures the rows carry: one of their keys must have signed each; empty
// skips that check.
HostReconciliation Reconcile(const std::string& host, int64_t since_ms,
                             const std::vector<v1::AuditEntry>& rows,
                             const std::vector<v1::JournalRecord>& journal,
                             const std::vector<std::string>& own_request_ids,
                             absl::string_view certificate_pem);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_RECONCILE_H_
