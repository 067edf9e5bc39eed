#include "agent/server/call_gate.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/server/printable_reply.h"
#include "common/journal_text.h"
#include "common/logging.h"
#include "common/request_meta.h"
#include "common/sha256.h"
#include "common/signing/result_signature.h"
#include "common/unknown_fields.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// Reads and refusals journaled at most, per caller: see AdmitToJournal.
constexpr double kJournalPerSecond = 10;
constexpr double kJournalBurst = 100;
// Callers whose journaling rate is tracked at once; beyond, new ones share
// one budget (kJournalOtherCallers).
constexpr size_t kMaxTrackedCallers = 1024;
// What a refused call claims (its request id, operation) is kept to this.
constexpr size_t kMaxClaimedBytes = 128;

}  // namespace

CallGate::CallGate(
    const AgentEnvironment& agent, std::unique_ptr<ActionJournal> journal,
    std::function<absl::StatusOr<absl::Time>()> own_certificate_not_after)
    : agent_(agent),
      authorizer_(std::vector<v1::AuthorizationRule>(
          agent.config.authorization().begin(),
          agent.config.authorization().end())),
      journal_(std::move(journal)),
      own_certificate_not_after_(std::move(own_certificate_not_after)),
      calls_(metrics_.AddCounter(
          "opsagent_agent_requests_total",
          "Calls of vetted operations, by operation and outcome (ok, error, "
          "denied, rejected, refused).",
          {"operation", "outcome"})),
      unjournaled_reads_(metrics_.AddCounter(
          "opsagent_agent_unjournaled_reads_total",
          "Reads answered without their journal record (the journal's "
          "filesystem full, its reserve kept for changes), by operation.",
          {"operation"})),
      durations_(metrics_.AddHistogram(
          "opsagent_agent_request_duration_seconds",
          "Time operations took, from the gate's checks to the result, by "
          "operation.",
          {"operation"})) {
  if (journal_ != nullptr) {
    retries_.Restore(journal_->history());
    replays_.Restore(journal_->history(), absl::Now());
  }
}

namespace {

// Changes are synced before they act; reads are only written (see
// ActionJournal::Durability).
ActionJournal::Durability Durability(const Call& call) {
  return call.operation->mutating ? ActionJournal::Durability::kSynced
                                  : ActionJournal::Durability::kWritten;
}

// Sets `text` bounded, and `sha256` to the whole text's digest if it was
// cut.
void SetBounded(absl::string_view text, std::string* bounded,
                std::string* sha256) {
  *bounded = BoundedJournalText(text);
  if (JournalTextIsCut(text)) *sha256 = Sha256Hex(text);
}

void SetSigned(const Call& call, v1::JournalRecord* record) {
  if (!call.signed_request.has_value()) return;
  record->set_nonce(call.signed_request->nonce);
  record->set_expires_at_unix_ms(
      absl::ToUnixMillis(call.signed_request->expires));
}

}  // namespace

absl::Status CallGate::JournalStart(const Call& call,
                                    const google::protobuf::Message& request,
                                    const v1::RequestMeta& meta,
                                    const std::string& digest) {
  if (journal_ == nullptr) return absl::OkStatus();
  v1::JournalRecord record;
  record.set_event(v1::JournalRecord::STARTED);
  record.set_request_id(meta.request_id());
  record.set_operation(call.operation->name);
  record.set_caller(call.caller.ToString());
  record.set_dry_run(meta.dry_run());
  record.set_run_id(meta.run_id());
  record.set_ticket(meta.ticket());  // at most 128 bytes: CheckRequestMeta
  if (call.operation->mutating) {
    // A change: whole, for a retry after a restart and for reconcile.
    record.set_incident(meta.incident());
    record.set_reason(meta.reason());
    record.mutable_request()->PackFrom(request);
    record.set_request_digest(digest);
  } else {
    // A read: its digests and bounded text, never the whole request.
    SetBounded(meta.incident(), record.mutable_incident(),
               record.mutable_incident_sha256());
    SetBounded(meta.reason(), record.mutable_reason(),
               record.mutable_reason_sha256());
    record.set_request_digest(RetryCache::Digest(request));
    record.set_parameters_sha256(Sha256Hex(ParametersJson(request)));
  }
  record.set_via(call.via);
  SetSigned(call, &record);
  // The half of the reserve kept for changes is for a change that acts: not
  // a dry run, nor the automation identity's (it may only run what is
  // declared read-only, and alert senders decide how often it runs).
  const bool acts = call.operation->mutating && !meta.dry_run() &&
                    !call.caller.IsAutomation();
  return journal_->Append(std::move(record), Durability(call),
                          acts ? ActionJournal::ReserveUse::kAll
                               : ActionJournal::ReserveUse::kHalf);
}

void CallGate::JournalFinish(const Call& call, const v1::RequestMeta& meta,
                             const CallResult& result) {
  if (journal_ == nullptr) return;
  v1::JournalRecord record;
  record.set_event(v1::JournalRecord::FINISHED);
  record.set_request_id(meta.request_id());
  record.set_operation(call.operation->name);
  record.set_caller(call.caller.ToString());
  record.set_status_code(static_cast<int>(result.status.code()));
  if (call.operation->mutating) {
    // A retry after a restart is answered with it.
    record.set_status_message(std::string(result.status.message()));
    record.set_reply(result.final_message);
  } else {
    // A read's error may quote its path: bounded; its reply is not kept
    // (result_sha256 is).
    record.set_status_message(BoundedJournalText(result.status.message()));
  }
  record.set_via(call.via);
  record.set_result_sha256(ResultSha256(
      agent_.config.hostname(), meta.request_id(),
      static_cast<int>(result.status.code()), result.final_message));
  if (absl::Status written = journal_->Append(
          std::move(record), Durability(call), ActionJournal::ReserveUse::kAll);
      !written.ok()) {
    spdlog::error("{} request={} finished but is not in the journal: {}",
                  call.operation->name, meta.request_id(), written.message());
  }
}

void CallGate::JournalRefusal(const Call& call, absl::string_view operation,
                              absl::string_view request_id,
                              const absl::Status& why) {
  if (journal_ == nullptr || !call.journal_read_only) return;
  // Anyone can make calls be refused as fast as they like: journaled at a
  // bounded rate per caller, each with what it claims cut short.
  std::optional<v1::JournalRecord> summary;
  if (!AdmitToJournal(call.caller.ToString(), &summary)) return;
  if (summary.has_value())
    AppendSummary(*std::move(summary), ActionJournal::ReserveUse::kHalf);
  v1::JournalRecord record;
  record.set_event(v1::JournalRecord::REFUSED);
  record.set_request_id(BoundedJournalText(request_id, kMaxClaimedBytes));
  record.set_operation(BoundedJournalText(operation, kMaxClaimedBytes));
  record.set_caller(call.caller.ToString());
  record.set_status_code(static_cast<int>(why.code()));
  record.set_status_message(BoundedJournalText(why.message()));
  record.set_via(call.via);
  SetSigned(call, &record);
  if (absl::Status written = journal_->Append(
          std::move(record), ActionJournal::Durability::kWritten,
          ActionJournal::ReserveUse::kHalf);
      !written.ok()) {
    CountNotJournaled(call.caller.ToString());
    spdlog::error("a refused {} request={} is not in the journal: {}",
                  operation, request_id, written.message());
  }
}

void CallGate::CountNotJournaled(const std::string& caller) {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = absl::Now();
  std::string key;
  JournalBudget& budget = BudgetOf(caller, now, &key);
  if (budget.not_journaled++ == 0) budget.not_journaled_since = now;
}

bool CallGate::AdmitToJournal(const std::string& caller,
                              std::optional<v1::JournalRecord>* summary) {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = absl::Now();
  std::string key;
  JournalBudget& budget = BudgetOf(caller, now, &key);
  budget.tokens = std::min<double>(
      kJournalBurst,
      budget.tokens +
          absl::ToDoubleSeconds(now - budget.refilled) * kJournalPerSecond);
  budget.refilled = now;
  if (budget.tokens < 1) {
    if (budget.not_journaled++ == 0) budget.not_journaled_since = now;
    return false;
  }
  budget.tokens -= 1;
  if (budget.not_journaled > 0) *summary = TakeSummary(key, &budget);
  return true;
}

CallGate::JournalBudget& CallGate::BudgetOf(const std::string& caller,
                                            absl::Time now, std::string* key) {
  if (!journal_budgets_.contains(caller) &&
      journal_budgets_.size() >= kMaxTrackedCallers) {
    // Forget callers whose budget is full again and owes no summary.
    absl::erase_if(journal_budgets_, [&](const auto& entry) {
      const JournalBudget& budget = entry.second;
      return budget.not_journaled == 0 &&
             budget.tokens + absl::ToDoubleSeconds(now - budget.refilled) *
                                 kJournalPerSecond >=
                 kJournalBurst;
    });
  }
  *key = journal_budgets_.contains(caller) ||
                 journal_budgets_.size() < kMaxTrackedCallers
             ? caller
             : std::string(kJournalOtherCallers);
  return journal_budgets_.try_emplace(*key, JournalBudget{kJournalBurst, now})
      .first->second;
}

v1::JournalRecord CallGate::TakeSummary(const std::string& caller,
                                        JournalBudget* budget) {
  v1::JournalRecord record;
  record.set_event(v1::JournalRecord::NOT_JOURNALED);
  record.set_caller(caller);
  record.set_not_journaled(std::exchange(budget->not_journaled, 0));
  record.set_not_journaled_since_unix_ms(
      absl::ToUnixMillis(budget->not_journaled_since));
  return record;
}

void CallGate::FlushNotJournaled(ActionJournal::ReserveUse reserve_use) {
  std::vector<v1::JournalRecord> summaries;
  {
    absl::MutexLock lock(&mutex_);
    for (auto& [caller, budget] : journal_budgets_) {
      if (budget.not_journaled > 0)
        summaries.push_back(TakeSummary(caller, &budget));
    }
  }
  for (v1::JournalRecord& summary : summaries)
    AppendSummary(std::move(summary), reserve_use);
}

void CallGate::StopJournaling() {
  if (journal_ == nullptr) return;
  // One record for every caller together, whatever their number: it may use
  // the changes' half of the reserve, so it must be small and one.
  JournalBudget all{0, absl::Now()};
  {
    absl::MutexLock lock(&mutex_);
    for (auto& [caller, budget] : journal_budgets_) {
      if (budget.not_journaled == 0) continue;
      if (all.not_journaled == 0 ||
          budget.not_journaled_since < all.not_journaled_since)
        all.not_journaled_since = budget.not_journaled_since;
      all.not_journaled += std::exchange(budget.not_journaled, 0);
    }
  }
  if (all.not_journaled == 0) return;
  AppendSummary(TakeSummary(kJournalOtherCallers, &all),
                ActionJournal::ReserveUse::kAll);
}

void CallGate::AppendSummary(v1::JournalRecord summary,
                             ActionJournal::ReserveUse reserve_use) {
  const std::string caller = summary.caller();
  const uint64_t count = summary.not_journaled();
  summary.set_status_message(absl::StrCat(
      count, " more refused calls/reads from ", caller, " not journaled (over ",
      kJournalPerSecond, " a second after a burst of ", kJournalBurst,
      ", or while the journal's filesystem was full)"));
  if (absl::Status written = journal_->Append(
          std::move(summary), ActionJournal::Durability::kWritten, reserve_use);
      !written.ok()) {
    spdlog::error("{} calls by {} not journaled, nor is their count: {}", count,
                  caller, written.message());
  }
}

CallResult CallGate::Refuse(const Call& call, absl::string_view operation,
                            absl::string_view request_id,
                            const absl::Status& why) {
  return Refused(call, "refused", operation, request_id, why);
}

CallResult CallGate::Refused(const Call& call, absl::string_view verb,
                             absl::string_view operation,
                             absl::string_view request_id,
                             const absl::Status& why) {
  spdlog::warn("{} {} by {} via {} from {} request={}: {}", verb, operation,
               call.caller.ToString(), call.via, call.peer, request_id,
               why.message());
  // Only declared names label the counter: what a caller named may be
  // anything.
  calls_.Increment({FindOperation(operation) != nullptr
                        ? std::string(operation)
                        : std::string("unknown"),
                    std::string(verb)});
  JournalRefusal(call, operation, request_id, why);
  return CallResult{MakePrintable(why), ""};
}

bool CallGate::TryAcquireScanSlot() {
  absl::MutexLock lock(&mutex_);
  if (running_scans_ >= agent_.config.limits().max_concurrent_scans())
    return false;
  ++running_scans_;
  return true;
}

void CallGate::ReleaseScanSlot() {
  absl::MutexLock lock(&mutex_);
  --running_scans_;
}

CallResult CallGate::Run(const Call& call, const Emit& emit) {
  const OperationInfo& op = *call.operation;
  const absl::Time start = absl::Now();
  const std::string who = call.caller.ToString();
  auto refused = [&](absl::string_view verb, const absl::Status& status,
                     absl::string_view request_id) {
    return Refused(call, verb, op.name, request_id, status);
  };

  std::unique_ptr<google::protobuf::Message> request = op.NewRequest();
  if (!request->ParseFromString(call.request)) {
    return refused("rejected",
                   absl::InvalidArgumentError(
                       absl::StrCat("the request is not a valid ",
                                    request->GetDescriptor()->full_name())),
                   "");
  }
  if (absl::Status status = RefuseUnknownFields(*request, "this agent");
      !status.ok())
    return refused("rejected", status, "");
  const v1::RequestMeta& meta = OperationInfo::Meta(*request);
  if (absl::Status status = CheckRequestMeta(meta); !status.ok())
    return refused("rejected", status, "");
  if (start >= call.deadline) {
    // The caller (or the controller relaying for it) has given up and
    // reported the call as timed out: it must not act now.
    return refused("refused",
                   absl::DeadlineExceededError(
                       "the call's deadline passed before it could start; "
                       "nothing was done"),
                   meta.request_id());
  }
  if (call.signed_request.has_value() &&
      !replays_.Claim(call.signed_request->nonce, call.signed_request->expires,
                      start)) {
    return refused("refused",
                   absl::UnauthenticatedError(
                       "this signed request was already received (replayed "
                       "by the controller); it is not run again"),
                   meta.request_id());
  }
  if (absl::Status status = authorizer_.Authorize(call.caller, op.name);
      !status.ok())
    return refused("denied", status, meta.request_id());
  // A vetted command may be a read: run_command checks its declaration.
  if (meta.read_only() && op.mutating && !op.read_only_per_declaration) {
    return refused("denied",
                   absl::PermissionDeniedError(absl::StrCat(
                       "the request asks that nothing change (a runbook's "
                       "automatic step), and ",
                       op.name, " changes the host")),
                   meta.request_id());
  }
  if (op.mutating && meta.request_id().empty()) {
    return refused(
        "rejected",
        absl::InvalidArgumentError(absl::StrCat(
            op.name,
            " changes the host and needs a request_id (for safe retries)")),
        "");
  }
  const std::string digest = op.mutating ? RetryCache::Digest(*request) : "";
  if (op.mutating) {
    std::optional<absl::StatusOr<RetryCache::Outcome>> earlier =
        retries_.Claim(meta.request_id(), op.name, who, digest);
    if (earlier.has_value()) {
      if (!earlier->ok())
        return refused("refused", earlier->status(), meta.request_id());
      spdlog::info(
          "replayed {} by {} request={}: returning the first outcome, not "
          "acting again",
          op.name, who, meta.request_id());
      const RetryCache::Outcome& outcome = **earlier;
      if (!outcome.serialized_reply.empty()) {
        std::unique_ptr<google::protobuf::Message> reply = op.NewReply();
        if (reply->ParseFromString(outcome.serialized_reply)) emit(*reply);
      }
      return CallResult{outcome.status, outcome.serialized_reply};
    }
  }
  if (op.heavy && !TryAcquireScanSlot()) {
    return refused(
        "refused",
        absl::ResourceExhaustedError(absl::StrCat(
            agent_.config.limits().max_concurrent_scans(),
            " scans are already running on this agent; try again shortly")),
        meta.request_id());
  }
  bool journaled = op.mutating;
  if (!op.mutating && call.journal_read_only && journal_ != nullptr) {
    std::optional<v1::JournalRecord> summary;
    journaled = AdmitToJournal(who, &summary);
    if (summary.has_value())
      AppendSummary(*std::move(summary), ActionJournal::ReserveUse::kHalf);
  }
  if (journaled) {
    absl::Status status = JournalStart(call, *request, meta, digest);
    if (!status.ok() && op.mutating) {
      // Refused, and not journaled either: counted, so that the team log's
      // row for it is accounted for (audit reconcile).
      CountNotJournaled(who);
      status = absl::FailedPreconditionError(
          absl::StrCat("refusing to act unrecorded: ", status.message()));
      retries_.Finish(meta.request_id(), {status, ""});
      if (op.heavy) ReleaseScanSlot();
      spdlog::error("refused {} by {} request={}: {}", op.name, who,
                    meta.request_id(), status.message());
      return CallResult{status, ""};
    }
    if (!status.ok()) {
      // A read changes nothing: on the night the journal's filesystem is
      // full it is still answered (what is left of the reserve is for the
      // change that frees the space), and the gap is counted and logged.
      journaled = false;
      CountNotJournaled(who);
      unjournaled_reads_.Increment({std::string(op.name)});
      spdlog::error("{} by {} request={} answered but not journaled: {}",
                    op.name, who, meta.request_id(), status.message());
    }
  }

  const OperationHandler* handler = FindOperationHandler(op);
  OperationContext context{
      agent_,
      call.caller,
      [this, caller = call.caller] {
        return authorizer_.AllowedOperations(caller);
      },
      call.deadline,
      call.cancelled,
      meta.dry_run(),
      meta.read_only(),
      &locks_,
      [this](absl::Time since, uint64_t cursor, size_t max_records,
             size_t max_bytes, v1::JournalReply* page) -> absl::Status {
        if (journal_ == nullptr) {
          return absl::FailedPreconditionError(
              "this agent keeps no journal "
              "(journal_path is not set)");
        }
        // Counts of what was not journaled are in what is read.
        FlushNotJournaled(ActionJournal::ReserveUse::kHalf);
        return journal_->ReadSince(since, cursor, max_records, max_bytes, page);
      },
      own_certificate_not_after_};
  spdlog::info(
      "start {} by {} via {} request={} incident=\"{}\" reason=\"{}\"{}",
      op.name, who, call.via, meta.request_id(), meta.incident(), meta.reason(),
      op.mutating && meta.dry_run() ? " (dry run)" : "");
  CallResult result;
  int escaped = 0;
  result.status = MakePrintable((*handler)(
      context, *request, [&](const google::protobuf::Message& event) {
        std::unique_ptr<google::protobuf::Message> shown(event.New());
        shown->CopyFrom(event);
        escaped += MakeStringsPrintable(shown.get());
        if (op.IsFinal(*shown))
          result.final_message = shown->SerializeAsString();
        return emit(*shown);
      }));
  if (escaped > 0) {
    spdlog::warn("{} request={}: {} field(s) held unprintable text; escaped",
                 op.name, meta.request_id(), escaped);
  }
  if (op.heavy) ReleaseScanSlot();
  if (journaled) JournalFinish(call, meta, result);
  if (op.mutating)
    retries_.Finish(meta.request_id(), {result.status, result.final_message});
  const int64_t ms = absl::ToInt64Milliseconds(absl::Now() - start);
  calls_.Increment({std::string(op.name), result.status.ok() ? "ok" : "error"});
  durations_.Observe({std::string(op.name)}, absl::Now() - start);
  if (result.status.ok()) {
    spdlog::info("done {} by {} request={} ok in {} ms", op.name, who,
                 meta.request_id(), ms);
  } else {
    spdlog::warn("done {} by {} request={} failed in {} ms: {}", op.name, who,
                 meta.request_id(), ms, result.status.ToString());
  }
  return result;
}

}  // namespace opsagent
