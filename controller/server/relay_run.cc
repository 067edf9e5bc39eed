#include "controller/server/relay_run.h"

#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/host_text.h"
#include "common/json.h"
#include "common/request_meta.h"
#include "common/signing/signed_request.h"
#include "common/tls/host_certificate.h"
#include "controller/auditing_caller.h"
#include "controller/fan_out.h"
#include "controller/result_summary.h"
#include "controller/server/live_inventory.h"
#include "controller/server/operator_claims.h"

namespace opsagent {

RelayMetrics::RelayMetrics(MetricRegistry& registry)
    : requests(registry.AddCounter(
          "opsagent_controller_requests_total",
          "Calls relayed to agents, one per host, by operation and outcome.",
          {"operation", "outcome"})),
      duration(registry.AddHistogram(
          "opsagent_controller_request_duration_seconds",
          "Time from sending a relayed call to its result, by operation.",
          {"operation"})),
      audit_append_errors(registry.AddCounter(
          "opsagent_controller_audit_append_errors_total",
          "Audit log commits that failed (nothing more was sent in that "
          "run).")) {}

namespace {

// What one host's rows may take while its call runs, held from its
// operator's write budget: an intent, an outcome and a result of a few KiB.
constexpr uint64_t kHeldPerHost = 4 << 10;

// What a link reports about one host's call, queued for the run's thread.
struct Arrival {
  size_t host = 0;
  bool done = false;              // false: an event of a stream
  bool reached = true;            // false: never sent (not connected)
  absl::Status status;            // done only
  std::string message;            // the event, or the final message
  v1::ResultSignature signature;  // the agent's, done only
};

// One host's call as the run tracks it.
struct HostCall {
  std::string host;
  std::string address;   // its link's peer, or the static inventory's
  v1::RequestMeta meta;  // from the signed request
  std::string parameters_json;
  int64_t row = 0;
  absl::Time started;
};

// The calls of a run, one per signed request, checked for what the
// controller must know to audit and route them: each names this operation
// and the certificate the run was asked with, a host not named twice, a
// request of the operation's type whose id is the envelope's, and one run
// id for all. Signatures, lifetimes and the caller's rights are the agents'
// to check: the controller is not trusted with them.
absl::StatusOr<std::vector<HostCall>> PlanCalls(
    const OperationInfo& op, const v1::RunRequest& asked,
    const std::string& operator_certificate) {
  if (absl::Status claims = CheckOperatorClaims(asked.claims()); !claims.ok())
    return claims;
  if (asked.requests().empty()) {
    return absl::InvalidArgumentError(
        "the run carries no signed requests (is opsctl older than the "
        "controller?)");
  }
  absl::StatusOr<std::string> certificate =
      CertificateSha256(operator_certificate);
  if (!certificate.ok()) return certificate.status();
  std::vector<HostCall> calls;
  absl::flat_hash_set<std::string> hosts;
  for (int i = 0; i < asked.requests_size(); ++i) {
    const auto bad = [i](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("signed request ", i, ": ", why));
    };
    v1::RequestEnvelope envelope;
    if (!envelope.ParseFromString(asked.requests(i).envelope()))
      return bad("not an envelope");
    if (envelope.operation() != op.name)
      return bad(absl::StrCat("is for \"", envelope.operation(), "\", not \"",
                              op.name, "\""));
    if (envelope.operator_certificate_sha256() != *certificate)
      return bad("is not signed for the certificate calling");
    if (!IsDnsHostName(envelope.target_host()) ||
        !hosts.insert(envelope.target_host()).second)
      return bad("names no host name, or one already named");
    std::unique_ptr<google::protobuf::Message> request = op.NewRequest();
    if (!request->ParseFromString(envelope.request()))
      return bad(absl::StrCat("is not a valid ",
                              request->GetDescriptor()->full_name()));
    HostCall call;
    call.host = envelope.target_host();
    call.meta = OperationInfo::Meta(*request);
    if (call.meta.request_id().empty() ||
        call.meta.request_id() != envelope.request_id())
      return bad("its request id is missing or not the envelope's");
    if (call.meta.run_id().empty() ||
        (!calls.empty() && call.meta.run_id() != calls.front().meta.run_id()))
      return bad("has no run id, or not the run's");
    // Nothing reaches the team's log that an agent would refuse to record.
    if (absl::Status text = CheckRequestMeta(call.meta); !text.ok())
      return bad(text.message());
    call.parameters_json = ParametersJson(*request);
    calls.push_back(std::move(call));
  }
  return calls;
}

v1::RunEvent ResultEvent(size_t host, v1::Outcome outcome,
                         const std::string& request_id,
                         const absl::Status& status,
                         const std::string& final_message,
                         const v1::ResultSignature& signature) {
  v1::RunEvent event;
  v1::HostResult* result = event.mutable_result();
  result->set_host(static_cast<uint32_t>(host));
  result->set_outcome(outcome);
  result->set_request_id(request_id);
  result->mutable_status()->set_code(static_cast<int>(status.code()));
  result->mutable_status()->set_message(std::string(status.message()));
  result->set_final_message(final_message);
  if (!signature.result_sha256().empty())
    *result->mutable_signature() = signature;
  return event;
}

// A host's result whose outcome the team's log could not record: whatever
// the agent answered, the log holds only the intent, so the outcome is
// reported as unknown (opsctl exits 6), with what the agent said.
void Unrecorded(const absl::Status& why, v1::RunEvent* report) {
  v1::HostResult* result = report->mutable_result();
  const absl::Status reported = UnrecordedOutcome(
      absl::Status(static_cast<absl::StatusCode>(result->status().code()),
                   result->status().message()),
      why);
  result->set_outcome(v1::OUTCOME_UNKNOWN);
  result->mutable_status()->set_code(static_cast<int>(reported.code()));
  result->mutable_status()->set_message(std::string(reported.message()));
}

}  // namespace

absl::Status RelayRun(const RelaySpec& spec, AgentRegistry& registry,
                      const Inventory& inventory, AuditStore& audit,
                      const std::function<bool(const v1::RunEvent&)>& emit) {
  const OperationInfo& op = *spec.op;
  const v1::RunRequest& asked = spec.request;
  absl::StatusOr<std::vector<HostCall>> planned =
      PlanCalls(op, asked, spec.operator_certificate);
  if (!planned.ok()) return planned.status();
  std::vector<HostCall>& calls = *planned;
  // What the hosts' rows may take is held while the run lasts, so that runs
  // made at once are admitted against each other, not all on one balance.
  const uint64_t hold = asked.ByteSizeLong() + calls.size() * kHeldPerHost;
  // The reserve is for what frees the disk: operations that change the
  // host whatever is asked (a vetted command may be a read).
  const bool reads_use_reserve =
      spec.budget != nullptr && (!op.mutating || op.read_only_per_declaration);
  if (spec.budget != nullptr) {
    if (reads_use_reserve) {
      if (absl::Status room = spec.budget->AdmitRead(audit.path()); !room.ok())
        return room;
    }
    if (absl::Status admitted =
            spec.budget->Admit(spec.operator_identity, hold);
        !admitted.ok())
      return admitted;
  }
  const absl::Cleanup release = [&] {
    if (spec.budget != nullptr)
      spec.budget->Release(spec.operator_identity, hold);
  };
  const std::string& run_id = calls.front().meta.run_id();
  // Only hosts the controller knows (linked now, seen since it started, or
  // in the static inventory) get a row in the team's log.
  for (HostCall& call : calls) {
    if (std::shared_ptr<AgentConnection> link = registry.Find(call.host)) {
      call.address = ShownAddress(link->info().address);
    } else if (absl::StatusOr<v1::Host> listed = inventory.Find(call.host);
               listed.ok()) {
      call.address = listed->address();
    } else if (std::optional<AgentRegistry::Gone> gone =
                   registry.FindGone(call.host);
               gone.has_value()) {
      call.address = ShownAddress(gone->info.address);
    } else {
      return absl::NotFoundError(
          absl::StrCat("no host \"", TerminalSafe(call.host.substr(0, 253)),
                       "\" is known to the controller"));
    }
  }
  // Every commit of the run, charged to its operator.
  const auto commit =
      [&](const std::vector<v1::AuditIntent>& intents,
          const std::vector<std::pair<int64_t, v1::AuditResult>>& outcomes) {
        absl::StatusOr<std::vector<int64_t>> rows =
            audit.Commit(intents, outcomes);
        if (rows.ok() && spec.budget != nullptr)
          spec.budget->Charge(spec.operator_identity,
                              RecordedBytes(intents, outcomes));
        return rows;
      };
  // An operator who went away (opsctl interrupted) gets no new hosts
  // started; calls already sent still end and are audited.
  bool operator_gone = false;
  const auto send = [&](const v1::RunEvent& event) {
    if (!operator_gone && !emit(event)) operator_gone = true;
  };
  // Sent once the first intents are on disk: a run the audit log cannot
  // record is refused as a whole, before anything is said to have started.
  v1::RunEvent started;
  started.mutable_started()->set_run_id(run_id);
  for (const HostCall& call : calls)
    started.mutable_started()->add_hosts(call.host);

  absl::Mutex mutex;
  absl::CondVar arrived;
  std::deque<Arrival> arrivals;
  auto deliver = [&](Arrival arrival) {
    absl::MutexLock lock(&mutex);
    arrivals.push_back(std::move(arrival));
    arrived.Signal();
  };

  FanOutSummary summary;
  // A host's result, counted as it is reported (an outcome the log could
  // not record is reported, and counted, as unknown).
  const auto report_result = [&](const v1::RunEvent& report) {
    summary.Add(report.result().outcome());
    send(report);
  };
  size_t next = 0;
  int running = 0;
  int failed = 0;
  // Why no further host is sent (the log cannot record it, or the reserve
  // for changes is reached): those not started are reported pending, not as
  // an error budget spent.
  absl::Status not_sent = absl::OkStatus();
  bool any_started = false;
  std::vector<std::pair<int64_t, v1::AuditResult>> outcomes;
  std::vector<std::pair<size_t, v1::RunEvent>> reports;
  const std::thread::id run_thread = std::this_thread::get_id();
  bool in_start = false;  // this thread only
  const auto budget_spent = [&] {
    return !not_sent.ok() || operator_gone ||
           (asked.max_failures() > 0 &&
            failed >= static_cast<int>(asked.max_failures()));
  };

  for (;;) {
    // Hosts to start now, their intents committed with the outcomes that
    // came in since the last commit.
    std::vector<size_t> starting;
    std::vector<v1::AuditIntent> intents;
    while (running + static_cast<int>(starting.size()) < spec.concurrency &&
           next < calls.size() && !budget_spent()) {
      const size_t i = next++;
      const HostCall& call = calls[i];
      v1::AuditIntent intent;
      intent.set_request_id(call.meta.request_id());
      intent.set_run_id(run_id);
      intent.set_started_at_ms(absl::ToUnixMillis(absl::Now()));
      intent.set_os_user(asked.claims().os_user());
      intent.set_os_uid(asked.claims().os_uid());
      intent.set_sudo_user(asked.claims().sudo_user());
      intent.set_cert_identity(spec.operator_identity);
      intent.set_host(call.host);
      intent.set_address(call.address);
      intent.set_operation(op.name);
      intent.set_parameters_json(call.parameters_json);
      intent.set_reason(call.meta.reason());
      intent.set_incident(call.meta.incident());
      intent.set_ticket(call.meta.ticket());
      intent.set_dry_run(call.meta.dry_run());
      intent.set_mutating(op.mutating);
      intents.push_back(std::move(intent));
      starting.push_back(i);
    }
    // The reserve for changes is checked again before each read's hosts
    // are written: one run of many hosts could otherwise spend it.
    if (!intents.empty() && reads_use_reserve) {
      if (absl::Status room = spec.budget->AdmitRead(audit.path());
          !room.ok()) {
        if (!any_started) return room;
        not_sent = room;
        for (size_t i : starting)
          report_result(ResultEvent(i, v1::OUTCOME_PENDING,
                                    calls[i].meta.request_id(), room, "", {}));
        intents.clear();
        starting.clear();
      }
    }
    if (!intents.empty() || !outcomes.empty()) {
      absl::StatusOr<std::vector<int64_t>> rows = commit(intents, outcomes);
      if (!rows.ok()) {
        // Nothing new is sent; what ended is reported with the warning.
        if (spec.metrics != nullptr)
          spec.metrics->audit_append_errors.Increment();
        const absl::Status unrecorded = absl::FailedPreconditionError(
            absl::StrCat("nothing was sent: the audit log cannot record it (",
                         rows.status().message(), ")"));
        // Nothing had started: the whole run is refused, as opsctl's own
        // audit refusal would be.
        if (!any_started) return unrecorded;
        not_sent = unrecorded;
        for (size_t i : starting) {
          report_result(ResultEvent(i, v1::OUTCOME_PENDING,
                                    calls[i].meta.request_id(), unrecorded, "",
                                    {}));
        }
        for (auto& [host, report] : reports) {
          Unrecorded(rows.status(), &report);
          report_result(report);
        }
        starting.clear();
      } else {
        if (!any_started) send(started);
        for (size_t k = 0; k < starting.size(); ++k)
          calls[starting[k]].row = (*rows)[k];
        for (auto& [host, report] : reports) report_result(report);
      }
      outcomes.clear();
      reports.clear();
    }
    if (!starting.empty()) any_started = true;
    for (size_t i : starting) {
      ++running;
      calls[i].started = absl::Now();
      const std::string& host = calls[i].host;
      std::shared_ptr<AgentConnection> link = registry.Find(host);
      if (link == nullptr) {
        std::optional<AgentRegistry::Gone> gone = registry.FindGone(host);
        std::optional<absl::Time> seen;
        if (gone.has_value()) seen = gone->last_seen;
        deliver(Arrival{
            i, true, false,
            absl::UnavailableError(absl::StrCat(
                host, " is not connected to the controller",
                seen.has_value()
                    ? absl::StrCat(" (last seen ",
                                   absl::FormatTime(absl::RFC3339_sec, *seen,
                                                    absl::UTCTimeZone()),
                                   ")")
                    : " (not seen since the controller started)")),
            ""});
        continue;
      }
      v1::RelayedCall relayed;
      relayed.set_operator_certificate(spec.operator_certificate);
      *relayed.mutable_signed_request() = asked.requests(static_cast<int>(i));
      AgentConnection::Relay relay;
      if (op.streaming) {
        relay.on_event = [&deliver, i](std::string message) {
          deliver(
              Arrival{i, false, true, absl::OkStatus(), std::move(message)});
        };
      }
      // A link that closed before the call was written refuses it by calling
      // on_done on this thread before Start returns: never sent, so
      // unreachable, not unknown. Results run on the link's threads.
      relay.on_done = [&deliver, &in_start, run_thread, i](
                          absl::Status status, std::string final,
                          v1::ResultSignature signature) {
        const bool refused =
            std::this_thread::get_id() == run_thread && in_start;
        deliver(Arrival{i, true, !refused, std::move(status), std::move(final),
                        std::move(signature)});
      };
      in_start = true;
      link->Start(std::move(relayed), absl::Now() + spec.timeout,
                  std::move(relay));
      in_start = false;
    }
    if (running == 0 && (next >= calls.size() || budget_spent())) break;

    std::deque<Arrival> batch;
    {
      absl::MutexLock lock(&mutex);
      while (arrivals.empty()) arrived.Wait(&mutex);
      batch.swap(arrivals);
    }
    for (Arrival& arrival : batch) {
      if (!arrival.done) {
        v1::RunEvent event;
        event.mutable_event()->set_host(static_cast<uint32_t>(arrival.host));
        event.mutable_event()->set_message(std::move(arrival.message));
        send(event);
        continue;
      }
      --running;
      const v1::Outcome outcome =
          arrival.reached ? ClassifyOutcome(arrival.status, op.mutating)
                          : v1::OUTCOME_UNREACHABLE;
      if (outcome != v1::OUTCOME_OK) ++failed;
      if (spec.metrics != nullptr) {
        spec.metrics->requests.Increment(
            {std::string(op.name), std::string(OutcomeName(outcome))});
        spec.metrics->duration.Observe(
            {std::string(op.name)}, absl::Now() - calls[arrival.host].started);
      }
      v1::AuditResult result;
      result.set_outcome(outcome);
      result.set_finished_at_ms(absl::ToUnixMillis(absl::Now()));
      if (!arrival.status.ok()) {
        result.set_error_code(absl::StatusCodeToString(arrival.status.code()));
        result.set_message(std::string(arrival.status.message()));
      }
      if (!arrival.message.empty()) {
        std::unique_ptr<google::protobuf::Message> final = op.NewReply();
        if (final->ParseFromString(arrival.message)) {
          result.set_summary(SummarizeResult(op, *final));
          result.set_result_json(ProtoToJson(op.ResultOf(*final)));
        }
      }
      result.set_agent_result_sha256(arrival.signature.result_sha256());
      result.set_agent_signature(
          absl::BytesToHexString(arrival.signature.signature()));
      outcomes.emplace_back(calls[arrival.host].row, std::move(result));
      reports.emplace_back(
          arrival.host,
          ResultEvent(arrival.host, outcome,
                      calls[arrival.host].meta.request_id(), arrival.status,
                      arrival.message, arrival.signature));
    }
  }
  // The last outcomes.
  if (!outcomes.empty()) {
    absl::StatusOr<std::vector<int64_t>> committed = commit({}, outcomes);
    if (!committed.ok() && spec.metrics != nullptr)
      spec.metrics->audit_append_errors.Increment();
    for (auto& [host, report] : reports) {
      if (!committed.ok()) Unrecorded(committed.status(), &report);
      report_result(report);
    }
  }
  if (!not_sent.ok()) {
    for (; next < calls.size(); ++next)
      report_result(ResultEvent(next, v1::OUTCOME_PENDING,
                                calls[next].meta.request_id(), not_sent, "",
                                {}));
  }
  summary.not_started = static_cast<int>(calls.size() - next);
  v1::RunEvent finished;
  *finished.mutable_finished() = summary.ToProto();
  send(finished);
  return absl::OkStatus();
}

}  // namespace opsagent
