#include "controller/server/incident_response.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "common/request_meta.h"
#include "controller/audit/audit_record.h"
#include "controller/auditing_caller.h"
#include "controller/server/operator_claims.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

using Action = v1::IncidentResponse::Action;

// "acknowledge", from ACTION_ACKNOWLEDGE: the audit row's operation is
// "incident_" and this.
std::string ActionName(Action action) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(v1::IncidentResponse::Action_Name(action), "ACTION_"));
}

absl::Status CheckRequest(const v1::IncidentResponse& request) {
  const Action action = request.action();
  if (absl::Status text =
          CheckCallerText("text", request.text(), kMaxResponseTextBytes);
      !text.ok())
    return text;
  const bool needs_text = action == v1::IncidentResponse::ACTION_NOTE ||
                          action == v1::IncidentResponse::ACTION_RESOLVE ||
                          action == v1::IncidentResponse::ACTION_REOPEN ||
                          action == v1::IncidentResponse::ACTION_SILENCE;
  if (needs_text && absl::StripAsciiWhitespace(request.text()).empty())
    return absl::InvalidArgumentError(absl::StrCat(
        ActionName(action), " needs ",
        action == v1::IncidentResponse::ACTION_NOTE ? "its text" : "a reason"));
  if (action == v1::IncidentResponse::ACTION_SILENCE &&
      (request.silence_seconds() < 60 ||
       request.silence_seconds() > kMaxSilenceSeconds))
    return absl::InvalidArgumentError(
        "a silence lasts from 1 minute to 7 days (--for)");
  if (action != v1::IncidentResponse::ACTION_SILENCE &&
      request.silence_seconds() != 0)
    return absl::InvalidArgumentError("only silence takes a duration");
  if (!request.silence_id().empty() &&
      (action != v1::IncidentResponse::ACTION_UNSILENCE ||
       !IsSilenceId(request.silence_id())))
    return absl::InvalidArgumentError(
        "silence_id: an Alertmanager silence id (for unsilence only)");
  return CheckOperatorClaims(request.claims());
}

// The silences of `incident` that `request` expires: the one it names, or
// every one still running.
absl::StatusOr<std::vector<v1::IncidentSilence>> SilencesToExpire(
    const v1::Incident& incident, const v1::IncidentResponse& request,
    int64_t now_ms) {
  std::vector<v1::IncidentSilence> running;
  for (const v1::IncidentSilence& silence : incident.silences()) {
    const bool runs =
        silence.expired_at_ms() == 0 && silence.ends_at_ms() > now_ms;
    if (!request.silence_id().empty() && silence.id() == request.silence_id()) {
      if (!runs)
        return absl::FailedPreconditionError(
            absl::StrCat("silence ", silence.id(), " has ended"));
      return std::vector<v1::IncidentSilence>{silence};
    }
    if (request.silence_id().empty() && runs) running.push_back(silence);
  }
  if (!request.silence_id().empty())
    return absl::NotFoundError(
        absl::StrCat(incident.id(), " has no silence ", request.silence_id()));
  if (running.empty())
    return absl::FailedPreconditionError(
        absl::StrCat(incident.id(), " has no silence running"));
  return running;
}

// Expires silences created for `incident` that it will not keep; the ids
// of those Alertmanager would not expire (they run to their end), logged.
std::vector<std::string> ExpireAgain(
    const AlertmanagerSilences& alertmanager,
    const std::vector<v1::IncidentSilence>& created,
    const std::string& incident) {
  std::vector<std::string> stayed;
  for (const v1::IncidentSilence& undo : created) {
    if (absl::Status expired = alertmanager.Expire(undo.id()); !expired.ok()) {
      spdlog::error("silence {} of {} stays until it ends: {}", undo.id(),
                    incident, std::string(expired.message()));
      stayed.push_back(undo.id());
    }
  }
  return stayed;
}

// Creates the silences; on a failure, expires those it created and says
// so. Their records, for the incident.
absl::StatusOr<std::vector<v1::IncidentSilence>> CreateSilences(
    const AlertmanagerSilences& alertmanager,
    const std::vector<IncidentStore::Matchers>& matchers,
    const PeerIdentity& caller, const v1::IncidentResponse& request) {
  const absl::Time now = absl::Now();
  const absl::Time ends = now + absl::Seconds(request.silence_seconds());
  std::vector<v1::IncidentSilence> created;
  for (const IncidentStore::Matchers& match : matchers) {
    absl::StatusOr<std::string> id = alertmanager.Silence(
        match, ends, absl::StrCat(caller.name, " (opsctl)"),
        absl::StrCat(request.incident(), ": ", request.text()));
    if (!id.ok()) {
      ExpireAgain(alertmanager, created, request.incident());
      return absl::Status(
          id.status().code(),
          absl::StrCat("Alertmanager: ", id.status().message(),
                       created.empty() ? ""
                                       : " (the silences created first "
                                         "were expired again)"));
    }
    v1::IncidentSilence& silence = created.emplace_back();
    silence.set_id(*id);
    silence.set_created_by(caller.name);
    silence.set_created_at_ms(absl::ToUnixMillis(now));
    silence.set_ends_at_ms(absl::ToUnixMillis(ends));
    silence.set_matchers(AlertmanagerSilences::Describe(match));
  }
  return created;
}

// Does the action once its intent is recorded: the one-line summary of
// what changed.
absl::StatusOr<std::string> Apply(const IncidentResponseServing& serving,
                                  const PeerIdentity& caller,
                                  const v1::IncidentResponse& request,
                                  const v1::Incident& before,
                                  v1::Incident& after) {
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const Action action = request.action();
  std::string summary;
  if (action == v1::IncidentResponse::ACTION_SILENCE) {
    absl::StatusOr<IncidentStore::SilencePlan> plan =
        serving.incidents.store->SilenceMatchers(request.incident());
    if (!plan.ok()) return plan.status();
    const AlertmanagerSilences& alertmanager = *serving.incidents.silences;
    absl::StatusOr<std::vector<v1::IncidentSilence>> created =
        CreateSilences(alertmanager, plan->silences, caller, request);
    if (!created.ok()) return created.status();
    // Kept only if the incident is still open and its database takes them
    // all; otherwise none stays running unseen.
    absl::StatusOr<v1::Incident> recorded =
        serving.incidents.store->AddSilences(request.incident(), *created,
                                             caller.name, now_ms);
    if (!recorded.ok()) {
      const std::vector<std::string> stayed =
          ExpireAgain(alertmanager, *created, request.incident());
      return absl::Status(
          absl::IsFailedPrecondition(recorded.status())
              ? absl::StatusCode::kFailedPrecondition
              : absl::StatusCode::kInternal,
          absl::StrCat(
              "the silences were not kept: ", recorded.status().message(),
              stayed.empty() ? "; they were expired again in Alertmanager"
                             : absl::StrCat("; Alertmanager would not expire ",
                                            absl::StrJoin(stayed, ", "),
                                            ": expire them there by hand")));
    }
    after = *std::move(recorded);
    std::vector<std::string> said;
    for (const v1::IncidentSilence& silence : *created)
      said.push_back(absl::StrCat(silence.id(), " (", silence.matchers(), ")"));
    return absl::StrCat(
        "silenced until ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                         absl::FromUnixMillis(created->front().ends_at_ms()),
                         absl::UTCTimeZone()),
        ": ", absl::StrJoin(said, "; "),
        plan->unsilenceable.empty()
            ? ""
            : absl::StrCat("; not silenced (no instance label, a silence "
                           "would cover every host): ",
                           absl::StrJoin(plan->unsilenceable, ", ")));
  }
  if (action == v1::IncidentResponse::ACTION_UNSILENCE) {
    absl::StatusOr<std::vector<v1::IncidentSilence>> expiring =
        SilencesToExpire(before, request, now_ms);
    if (!expiring.ok()) return expiring.status();
    std::vector<std::string> expired;
    for (const v1::IncidentSilence& silence : *expiring) {
      if (absl::Status done = serving.incidents.silences->Expire(silence.id());
          !done.ok())
        return absl::Status(
            done.code(),
            absl::StrCat("Alertmanager: ", done.message(),
                         expired.empty() ? "" : "; expired before it: ",
                         absl::StrJoin(expired, ", ")));
      if (absl::Status kept =
              serving.incidents.store->ExpireSilence(silence.id(), now_ms);
          !kept.ok())
        return kept;
      expired.push_back(silence.id());
    }
    summary = absl::StrCat("expired silence ", absl::StrJoin(expired, ", "));
  }
  absl::StatusOr<v1::Incident> changed = serving.incidents.store->Respond(
      request.incident(), action, caller.name, now_ms);
  if (!changed.ok()) return changed.status();
  after = *std::move(changed);
  switch (action) {
    case v1::IncidentResponse::ACTION_ACKNOWLEDGE:
      return before.owner().empty() || before.owner() == caller.name
                 ? absl::StrCat("owner ", caller.name)
                 : absl::StrCat("owner ", caller.name, " (was ", before.owner(),
                                ")");
    case v1::IncidentResponse::ACTION_NOTE:
      return std::string("note added");
    case v1::IncidentResponse::ACTION_RESOLVE:
      return std::string("resolved by hand");
    case v1::IncidentResponse::ACTION_REOPEN:
      return std::string("reopened");
    default:
      return summary;
  }
}

}  // namespace

absl::StatusOr<v1::IncidentResponseRecorded> RespondToIncident(
    const IncidentResponseServing& serving, const PeerIdentity& caller,
    const v1::IncidentResponse& request) {
  if (absl::Status checked = CheckRequest(request); !checked.ok())
    return checked;
  const Action action = request.action();
  absl::StatusOr<v1::Incident> before =
      serving.incidents.store->Get(request.incident(), "", 64 << 10);
  if (!before.ok()) return before.status();
  if (absl::Status allowed = IncidentStore::CheckResponse(*before, action);
      !allowed.ok())
    return allowed;
  const bool silences = action == v1::IncidentResponse::ACTION_SILENCE ||
                        action == v1::IncidentResponse::ACTION_UNSILENCE;
  if (silences && serving.incidents.silences == nullptr)
    return absl::FailedPreconditionError(
        "this controller has no Alertmanager to silence in (alertmanager { "
        "url } in opsctld's configuration)");
  if (action == v1::IncidentResponse::ACTION_UNSILENCE) {
    absl::StatusOr<std::vector<v1::IncidentSilence>> expiring =
        SilencesToExpire(*before, request, absl::ToUnixMillis(absl::Now()));
    if (!expiring.ok()) return expiring.status();
  }
  if (absl::Status admitted = serving.budget->Admit(caller.name);
      !admitted.ok())
    return admitted;

  v1::AuditIntent intent;
  intent.set_request_id(NewRequestId());
  intent.set_run_id(intent.request_id());
  intent.set_started_at_ms(absl::ToUnixMillis(absl::Now()));
  intent.set_os_user(request.claims().os_user());
  intent.set_os_uid(request.claims().os_uid());
  intent.set_sudo_user(request.claims().sudo_user());
  intent.set_cert_identity(caller.name);
  intent.set_host(before->host().empty() ? "-" : before->host());
  intent.set_address("-");
  intent.set_operation(absl::StrCat("incident_", ActionName(action)));
  intent.set_incident(before->id());
  nlohmann::ordered_json parameters = nlohmann::ordered_json::object();
  if (action == v1::IncidentResponse::ACTION_NOTE) {
    parameters["note"] = request.text();
  } else {
    intent.set_reason(request.text());
  }
  if (request.silence_seconds() > 0)
    parameters["seconds"] = request.silence_seconds();
  if (!request.silence_id().empty())
    parameters["silence_id"] = request.silence_id();
  intent.set_parameters_json(DumpJson(parameters));
  absl::StatusOr<int64_t> row = serving.audit->RecordIntent(intent);
  if (!row.ok()) {
    spdlog::error("cannot record {} of {} in the audit log: {}",
                  intent.operation(), before->id(),
                  std::string(row.status().message()));
    return absl::FailedPreconditionError(
        absl::StrCat("the team's audit log cannot record it, so nothing was "
                     "done: ",
                     row.status().message()));
  }
  v1::IncidentResponseRecorded reply;
  absl::StatusOr<std::string> summary =
      Apply(serving, caller, request, *before, *reply.mutable_incident());
  v1::AuditResult result;
  result.set_finished_at_ms(absl::ToUnixMillis(absl::Now()));
  if (summary.ok()) {
    result.set_outcome(v1::OUTCOME_OK);
    result.set_summary(*summary);
  } else {
    result.set_outcome(v1::OUTCOME_ERROR);
    result.set_error_code(absl::StatusCodeToString(summary.status().code()));
    result.set_message(std::string(summary.status().message()));
  }
  absl::Status recorded = serving.audit->RecordResult(*row, result);
  serving.budget->Charge(caller.name,
                         RecordedBytes({intent}, {{*row, result}}));
  spdlog::info(
      "{} {} by {}: {}", intent.operation(), before->id(), caller.name,
      summary.ok() ? *summary : std::string(summary.status().message()));
  if (!summary.ok()) return summary.status();
  if (before->last_human_action_ms() == 0 &&
      serving.incidents.first_response != nullptr)
    serving.incidents.first_response->Observe(
        {ActionName(action)},
        absl::Milliseconds(result.finished_at_ms() - before->opened_at_ms()));
  if (IncidentEvents* events = serving.incidents.events; events != nullptr) {
    if (action == v1::IncidentResponse::ACTION_ACKNOWLEDGE)
      events->Happened(before->id(), IncidentEvent::kAcknowledged);
    if (action == v1::IncidentResponse::ACTION_RESOLVE)
      events->Happened(before->id(), IncidentEvent::kResolved);
    if (action == v1::IncidentResponse::ACTION_REOPEN)
      events->Happened(before->id(), IncidentEvent::kReopened);
  }
  if (!recorded.ok())
    return absl::DataLossError(absl::StrCat(
        "done, but the team's audit log did not take its outcome (row ", *row,
        " stays pending): ", recorded.message()));
  reply.set_audit_id(*row);
  return reply;
}

}  // namespace opsagent
