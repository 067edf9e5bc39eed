#ifndef OPSAGENT_AGENT_SERVER_CALL_GATE_H_
#define OPSAGENT_AGENT_SERVER_CALL_GATE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/ops/target_locks.h"
#include "agent/server/action_journal.h"
#include "agent/server/authorizer.h"
#include "agent/server/replay_cache.h"
#include "agent/server/retry_cache.h"
#include "common/metrics/metrics.h"
#include "common/operation_catalog.h"
#include "common/tls/peer_identity.h"

namespace opsagent {

// A call as it reaches the gate, from whichever front (the agent's own
// listener, or a controller relaying it): who asks, from where, and the
// request as it came over the wire.
struct Call {
  const OperationInfo* operation = nullptr;
  PeerIdentity caller;  // from a verified certificate
  std::string peer;     // for the log: "ipv4:10.0.0.5:51234"
  // For the journal: "direct" or "controller NAME".
  std::string via = "direct";
  // Journal it even if it changes nothing (a break-glass call while a
  // controller is configured, so the two witnesses can be compared).
  bool journal_read_only = false;
  std::string request;  // serialized request message
  // The request id a relayed call's signed request names (its result is
  // signed with it); empty until known.
  std::string request_id;
  // A relayed call's signed request (verified by its front): its nonce is
  // claimed in the replay cache and journaled until it expires.
  struct Signed {
    std::string nonce;
    absl::Time expires;
  };
  std::optional<Signed> signed_request;
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled = [] { return false; };
};

// How a call ended: its status, and its last message (the reply, or a
// stream's final event), which is also what a failure carries.
struct CallResult {
  absl::Status status;
  std::string final_message;  // serialized; empty when there is none
};

// The one place every operation goes through, whatever front it came in
// by, doing what each needs in this order: parse and validate the request
// (lengths, UTF-8, control characters in its meta), deny-by-default
// authorization, for changes a request id claimed in the retry cache (a
// retry gets the first outcome, another caller or another request with the
// same id is refused), a signed request's nonce claimed in the replay cache
// (a replay is refused), the heavy-scan limit, the agent journal before and
// after a change, and a log line for every call and refusal. Reads and
// refusals (journaled with a controller) are journaled by digest and with
// their text bounded (common/journal_text.h), at a bounded rate per caller;
// changes whole, always. Output the
// operation emits goes to `emit` as it comes (escaped to printable text if
// an operation let host bytes through). Thread-safe.
class CallGate {
 public:
  // `journal` (may be null) records every change before it acts; the retry
  // and replay caches are restored from its history.
  // `own_certificate_not_after` (may be empty) is handed to operations
  // (OperationContext), kept in memory by the agent's trust.
  CallGate(const AgentEnvironment& agent,
           std::unique_ptr<ActionJournal> journal,
           std::function<absl::StatusOr<absl::Time>()>
               own_certificate_not_after = nullptr);

  CallResult Run(const Call& call, const Emit& emit);

  // Logs and journals (at a bounded rate, see JournalRefusal) a call its
  // front refused before it could reach Run
  // (a relayed call with a bad signature, for another host, from an
  // operator the agent does not accept): `operation` as named, `call` with
  // what is known of the caller.
  CallResult Refuse(const Call& call, absl::string_view operation,
                    absl::string_view request_id, const absl::Status& why);

  // At the agent's stop: writes the counts of what was not journaled (they
  // live in memory until there is room, and a stop would lose them), from
  // all of the reserve: one short record for all callers together.
  void StopJournaling();

  const Authorizer& authorizer() const { return authorizer_; }
  // Calls by operation and outcome, and their durations, for /metrics.
  const MetricRegistry& metrics() const { return metrics_; }
  // For the server to add what it measures itself (its certificate).
  MetricRegistry& metrics() { return metrics_; }

 private:
  // Journals a call before it acts; a change must not act on an error.
  absl::Status JournalStart(const Call& call,
                            const google::protobuf::Message& request,
                            const v1::RequestMeta& meta,
                            const std::string& digest);
  void JournalFinish(const Call& call, const v1::RequestMeta& meta,
                     const CallResult& result);
  void JournalRefusal(const Call& call, absl::string_view operation,
                      absl::string_view request_id, const absl::Status& why);
  // Whether a read or refusal by `caller` may be journaled now: each
  // caller identity gets a burst of kJournalBurst, then kJournalPerSecond
  // a second; what is over is counted, and journaled as one NOT_JOURNALED
  // record (into `summary`) once the caller is admitted again, or when the
  // journal is read (FlushNotJournaled).
  bool AdmitToJournal(const std::string& caller,
                      std::optional<v1::JournalRecord>* summary);
  // Counts a read or refusal by `caller` whose record could not be written
  // (the journal's filesystem full): journaled as AdmitToJournal's are.
  void CountNotJournaled(const std::string& caller);
  void FlushNotJournaled(ActionJournal::ReserveUse reserve_use);
  void AppendSummary(v1::JournalRecord summary,
                     ActionJournal::ReserveUse reserve_use);
  // Logs (as `verb`: rejected, denied, refused) and journals a refusal.
  CallResult Refused(const Call& call, absl::string_view verb,
                     absl::string_view operation, absl::string_view request_id,
                     const absl::Status& why);
  bool TryAcquireScanSlot();
  void ReleaseScanSlot();

  const AgentEnvironment& agent_;
  const Authorizer authorizer_;
  TargetLocks locks_;
  RetryCache retries_;
  ReplayCache replays_;
  const std::unique_ptr<ActionJournal> journal_;
  const std::function<absl::StatusOr<absl::Time>()> own_certificate_not_after_;
  MetricRegistry metrics_;
  Counter& calls_;
  Counter& unjournaled_reads_;
  Histogram& durations_;
  absl::Mutex mutex_;
  uint32_t running_scans_ ABSL_GUARDED_BY(mutex_) = 0;
  // Journaling of reads and refusals, per caller identity.
  struct JournalBudget {
    double tokens;
    absl::Time refilled;
    uint64_t not_journaled = 0;
    absl::Time not_journaled_since;
  };
  absl::flat_hash_map<std::string, JournalBudget> journal_budgets_
      ABSL_GUARDED_BY(mutex_);
  // `caller`'s budget (full for one not seen yet), under its own name while
  // fewer than kMaxTrackedCallers are tracked (callers whose budget is full
  // again and who owe no summary are forgotten first), else under
  // kJournalOtherCallers; `key` is the name it is kept under.
  JournalBudget& BudgetOf(const std::string& caller, absl::Time now,
                          std::string* key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The NOT_JOURNALED record of what `budget` counted; resets the count.
  static v1::JournalRecord TakeSummary(const std::string& caller,
                                       JournalBudget* budget);
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_CALL_GATE_H_
