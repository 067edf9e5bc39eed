#include "controller/audit/reconcile.h"

#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/journal_text.h"
#include "common/operation_catalog.h"
#include "common/sha256.h"
#include "common/signing/result_signature.h"
#include "common/tls/pem_text.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

namespace opsagent {
namespace {

// What the journal says about one request id.
struct JournalCall {
  const v1::JournalRecord* started = nullptr;
  const v1::JournalRecord* finished = nullptr;
  const v1::JournalRecord* refused = nullptr;

  const v1::JournalRecord& any() const {
    return started ? *started : finished ? *finished : *refused;
  }
};

int64_t TimeMs(const v1::JournalRecord& record) {
  absl::Time at;
  std::string error;
  return absl::ParseTime(absl::RFC3339_full, record.time(), &at, &error)
             ? absl::ToUnixMillis(at)
             : 0;
}

std::string FormatMs(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// Whether the journal's `caller` ("CN (roles)") is the team log's
// `cert_identity`.
bool SameCaller(const std::string& caller, const std::string& cert_identity) {
  return caller == cert_identity ||
         absl::StartsWith(caller, absl::StrCat(cert_identity, " ("));
}

// Whether the journal's text of a field agrees with the team log's: the
// whole text's digest where the agent cut it (common/journal_text.h).
bool SameText(absl::string_view logged, const std::string& journaled,
              const std::string& journaled_sha256) {
  if (!journaled_sha256.empty()) return Sha256Hex(logged) == journaled_sha256;
  return logged == journaled;
}

// Whether the parameters the team log recorded (`logged_json`) are those of
// `received`. Compared as messages, not as text: Protobuf's JSON printer
// writes map entries (`exec`'s params) in no fixed order, so the same
// request printed twice can differ in key order; a text that does not parse
// as the operation's request differs.
bool SameParameters(const OperationInfo& op, const std::string& logged_json,
                    const google::protobuf::Message& received) {
  std::unique_ptr<google::protobuf::Message> logged = op.NewRequest();
  std::unique_ptr<google::protobuf::Message> agent = op.NewRequest();
  // Through the same JSON mapping, so that both lack the request's meta.
  return google::protobuf::util::JsonStringToMessage(logged_json, logged.get())
             .ok() &&
         google::protobuf::util::JsonStringToMessage(ParametersJson(received),
                                                     agent.get())
             .ok() &&
         google::protobuf::util::MessageDifferencer::Equals(*logged, *agent);
}

// What of the row's intent differs from the request the agent journaled
// (who, which operation, why, with what parameters); empty if nothing.
std::string RequestDifference(const v1::AuditIntent& intent,
                              const v1::JournalRecord& started) {
  auto differs = [](absl::string_view what, absl::string_view logged,
                    absl::string_view received) {
    return absl::StrCat(what, ": the team log says \"", logged,
                        "\", the agent received \"", received, "\"");
  };
  if (started.operation() != intent.operation())
    return differs("operation", intent.operation(), started.operation());
  // The journal names the caller "CN (roles)".
  const std::string& caller = started.caller();
  if (!SameCaller(caller, intent.cert_identity()))
    return differs("operator", intent.cert_identity(), caller);
  if (!SameText(intent.incident(), started.incident(),
                started.incident_sha256()))
    return differs("incident", BoundedJournalText(intent.incident()),
                   started.incident());
  if (!SameText(intent.reason(), started.reason(), started.reason_sha256()))
    return differs("reason", BoundedJournalText(intent.reason()),
                   started.reason());
  if (started.run_id() != intent.run_id())
    return differs("run", intent.run_id(), started.run_id());
  if (started.ticket() != intent.ticket())
    return differs("ticket", intent.ticket(), started.ticket());
  if (started.dry_run() != intent.dry_run())
    return differs("dry run", intent.dry_run() ? "yes" : "no",
                   started.dry_run() ? "yes" : "no");
  if (!started.has_request() && !started.parameters_sha256().empty() &&
      Sha256Hex(intent.parameters_json()) != started.parameters_sha256()) {
    // A read: the agent kept its parameters' digest only.
    return differs("parameters", BoundedJournalText(intent.parameters_json()),
                   absl::StrCat("parameters with digest ",
                                started.parameters_sha256().substr(0, 12)));
  }
  const OperationInfo* op = FindOperation(started.operation());
  if (op != nullptr && started.has_request()) {
    std::unique_ptr<google::protobuf::Message> request = op->NewRequest();
    if (started.request().UnpackTo(request.get()) &&
        !SameParameters(*op, intent.parameters_json(), *request))
      return differs("parameters", intent.parameters_json(),
                     ParametersJson(*request));
  }
  return "";
}

}  // namespace

absl::string_view FindingName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kUnloggedChange:
      return "unlogged_change";
    case FindingKind::kMissingRow:
      return "missing_row";
    case FindingKind::kUnloggedRefusal:
      return "unlogged_refusal";
    case FindingKind::kNotRun:
      return "not_run";
    case FindingKind::kOutcomeDiffers:
      return "outcome_differs";
    case FindingKind::kRequestDiffers:
      return "request_differs";
    case FindingKind::kResultDiffers:
      return "result_differs";
    case FindingKind::kUnloggedRead:
      return "unlogged_read";
  }
  return "unknown";
}

namespace {

// VerifyResult with each certificate of `bundle` (a host's current one and
// those it renewed from): OK if one of their keys signed it.
absl::Status VerifyResultByAny(absl::string_view bundle,
                               absl::string_view result_sha256,
                               absl::string_view signature) {
  absl::Status first;
  for (const std::string& certificate : PemCertificateBlocks(bundle)) {
    absl::Status checked = VerifyResult(certificate, result_sha256, signature);
    if (checked.ok()) return checked;
    if (first.ok()) first = checked;
  }
  return first.ok() ? VerifyResult(bundle, result_sha256, signature) : first;
}

}  // namespace

HostReconciliation Reconcile(const std::string& host, int64_t since_ms,
                             const std::vector<v1::AuditEntry>& rows,
                             const std::vector<v1::JournalRecord>& journal,
                             const std::vector<std::string>& own_request_ids,
                             absl::string_view certificate_pem) {
  const std::set<std::string> own(own_request_ids.begin(),
                                  own_request_ids.end());
  std::map<std::string, JournalCall> calls;
  // Reads and refusals over a caller's journaling rate, only counted.
  std::vector<const v1::JournalRecord*> not_journaled;
  for (const v1::JournalRecord& record : journal) {
    if (record.event() == v1::JournalRecord::NOT_JOURNALED) {
      not_journaled.push_back(&record);
      continue;
    }
    if (record.request_id().empty() || own.count(record.request_id()) > 0)
      continue;
    switch (record.event()) {
      case v1::JournalRecord::STARTED:
        calls[record.request_id()].started = &record;
        break;
      case v1::JournalRecord::FINISHED:
        calls[record.request_id()].finished = &record;
        break;
      case v1::JournalRecord::REFUSED:
        calls[record.request_id()].refused = &record;
        break;
      default:
        break;
    }
  }
  // The journal covers from its first record on (older ones may have been
  // left out of a long one).
  const int64_t journal_from =
      journal.empty() ? since_ms : std::max(since_ms, TimeMs(journal.front()));

  HostReconciliation out;
  auto add = [&](FindingKind kind, std::string time, std::string request_id,
                 std::string operation, std::string detail) {
    out.findings.push_back({kind, host, std::move(time), std::move(request_id),
                            std::move(operation), std::move(detail)});
  };
  // Whether the agent counted rather than journaled a read by
  // `cert_identity` at `at_ms`.
  auto counted_only = [&](const std::string& cert_identity, int64_t at_ms) {
    for (const v1::JournalRecord* summary : not_journaled) {
      // Its own clock, and the team log's: a second either side.
      if (at_ms + 1000 >= summary->not_journaled_since_unix_ms() &&
          at_ms <= TimeMs(*summary) + 1000 &&
          (SameCaller(summary->caller(), cert_identity) ||
           summary->caller() == kJournalOtherCallers))
        return true;
    }
    return false;
  };
  std::map<std::string, const v1::AuditEntry*> logged;
  for (const v1::AuditEntry& row : rows) {
    if (own.count(row.intent().request_id()) > 0) continue;
    // What the controller did itself under the host's name (a renewal, a
    // revocation, an incident's response) is in no journal of the host.
    if (FindOperation(row.intent().operation()) == nullptr) continue;
    logged[row.intent().request_id()] = &row;
    const v1::AuditIntent& intent = row.intent();
    const auto found = calls.find(intent.request_id());
    const bool in_window = intent.started_at_ms() >= journal_from;
    if (found == calls.end()) {
      // Never sent, or refused at the agent (whose refusals are journaled
      // at a bounded rate): nothing to expect.
      if (!in_window || row.outcome() == v1::OUTCOME_UNREACHABLE ||
          row.outcome() == v1::OUTCOME_DENIED)
        continue;
      // A read over its caller's journaling rate, or one or a change the
      // agent could not record (its journal's filesystem full), is counted,
      // not journaled. A change it could not record it refused, so the log
      // must say error for it.
      if ((!intent.mutating() || row.outcome() == v1::OUTCOME_ERROR) &&
          counted_only(intent.cert_identity(), intent.started_at_ms()))
        continue;
      add(FindingKind::kNotRun, FormatMs(intent.started_at_ms()),
          intent.request_id(), intent.operation(),
          absl::StrCat("the team log says ", OutcomeName(row.outcome()), "; ",
                       host, " has no record of it",
                       row.outcome() == v1::OUTCOME_UNKNOWN ||
                               row.outcome() == v1::OUTCOME_PENDING
                           ? " (it did not run)"
                           : " (a row the controller made up?)"));
      continue;
    }
    const JournalCall& call = found->second;
    if (call.started != nullptr) {
      if (std::string difference = RequestDifference(intent, *call.started);
          !difference.empty()) {
        add(FindingKind::kRequestDiffers, FormatMs(intent.started_at_ms()),
            intent.request_id(), intent.operation(), std::move(difference));
        continue;
      }
    }
    if (call.refused != nullptr && call.finished == nullptr) {
      if (row.outcome() == v1::OUTCOME_OK) {
        add(FindingKind::kOutcomeDiffers, FormatMs(intent.started_at_ms()),
            intent.request_id(), intent.operation(),
            absl::StrCat("the team log says ok; ", host,
                         " refused it: ", call.refused->status_message()));
      } else {
        ++out.matched;
      }
      continue;
    }
    if (call.finished == nullptr) {
      // Started, never finished: the agent died mid-call.
      if (row.outcome() == v1::OUTCOME_OK) {
        add(FindingKind::kOutcomeDiffers, FormatMs(intent.started_at_ms()),
            intent.request_id(), intent.operation(),
            absl::StrCat("the team log says ok; ", host,
                         " started it and has no outcome"));
      } else {
        ++out.matched;
      }
      continue;
    }
    const int code = call.finished->status_code();
    const bool agent_ok = code == 0;
    const bool agrees = (row.outcome() == v1::OUTCOME_OK && agent_ok) ||
                        ((row.outcome() == v1::OUTCOME_ERROR ||
                          row.outcome() == v1::OUTCOME_DENIED) &&
                         !agent_ok);
    if (!agrees) {
      add(FindingKind::kOutcomeDiffers, FormatMs(intent.started_at_ms()),
          intent.request_id(), intent.operation(),
          absl::StrCat(
              "the team log says ", OutcomeName(row.outcome()), "; ", host,
              " finished it ", agent_ok ? std::string("ok") : CodeName(code),
              agent_ok ? ""
                       : absl::StrCat(": ", call.finished->status_message())));
      continue;
    }
    if (row.has_result() && !row.result().agent_result_sha256().empty()) {
      const v1::AuditResult& result = row.result();
      if (!call.finished->result_sha256().empty() &&
          result.agent_result_sha256() != call.finished->result_sha256()) {
        add(FindingKind::kResultDiffers, FormatMs(intent.started_at_ms()),
            intent.request_id(), intent.operation(),
            absl::StrCat("the answer the team log recorded is not the one ",
                         host, " journaled (digest ",
                         result.agent_result_sha256().substr(0, 12), " vs ",
                         call.finished->result_sha256().substr(0, 12), ")"));
        continue;
      }
      if (!certificate_pem.empty()) {
        absl::Status signature =
            VerifyResultByAny(certificate_pem, result.agent_result_sha256(),
                              absl::HexStringToBytes(result.agent_signature()));
        if (!signature.ok()) {
          add(FindingKind::kResultDiffers, FormatMs(intent.started_at_ms()),
              intent.request_id(), intent.operation(),
              absl::StrCat("the team log's record of the answer is not signed "
                           "by ",
                           host, ": ", signature.message()));
          continue;
        }
      }
    }
    ++out.matched;
  }
  // What the agent did that the team log does not know.
  for (const auto& [request_id, call] : calls) {
    if (logged.count(request_id) > 0) continue;
    const v1::JournalRecord& record = call.any();
    if (TimeMs(record) < since_ms) continue;
    const OperationInfo* op = FindOperation(record.operation());
    const bool change = op == nullptr || op->mutating;
    const std::string via =
        record.via().empty() ? std::string("direct") : record.via();
    if (call.started == nullptr && call.finished == nullptr) {
      add(FindingKind::kUnloggedRefusal, record.time(), request_id,
          record.operation(),
          absl::StrCat(
              host, " refused a call via ", via, " from ", record.caller(),
              " that the team log has no row for: ", record.status_message()));
      continue;
    }
    const std::string ended = call.finished == nullptr
                                  ? std::string("no outcome")
                              : call.finished->status_code() == 0
                                  ? std::string("ok")
                                  : CodeName(call.finished->status_code());
    const bool relayed = absl::StartsWith(via, "controller");
    add(relayed  ? FindingKind::kMissingRow
        : change ? FindingKind::kUnloggedChange
                 : FindingKind::kUnloggedRead,
        record.time(), request_id, record.operation(),
        absl::StrCat(change ? "changed the host" : "read", " for ",
                     record.caller(), " via ", via, " (", ended,
                     "); the team log has no row",
                     relayed ? ": the controller relayed it, so its row was "
                               "deleted"
                             : " (a break-glass call)"));
  }
  return out;
}

}  // namespace opsagent
