#include "controller/commands/incident_response_command.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/host_text.h"
#include "common/json.h"
#include "controller/commands/command.h"
#include "controller/exit_codes.h"

namespace opsagent {
namespace {

using Action = v1::IncidentResponse::Action;

struct Verb {
  const char* name;
  Action action;
  const char* usage;
  const char* done;  // "acknowledged"
};

constexpr Verb kVerbs[] = {
    {"ack", v1::IncidentResponse::ACTION_ACKNOWLEDGE, "ack ID", "acknowledged"},
    {"note", v1::IncidentResponse::ACTION_NOTE, "note ID TEXT...", "noted"},
    {"resolve", v1::IncidentResponse::ACTION_RESOLVE,
     "resolve ID --reason TEXT", "resolved"},
    {"reopen", v1::IncidentResponse::ACTION_REOPEN, "reopen ID --reason TEXT",
     "reopened"},
    {"silence", v1::IncidentResponse::ACTION_SILENCE,
     "silence ID --for DURATION --reason TEXT", "silenced"},
    {"unsilence", v1::IncidentResponse::ACTION_UNSILENCE,
     "unsilence ID [SILENCE_ID]", "unsilenced"},
};

const Verb* FindVerb(absl::string_view name) {
  for (const Verb& verb : kVerbs) {
    if (name == verb.name) return &verb;
  }
  return nullptr;
}

int Usage(Invocation& invocation, const Verb& verb, absl::string_view why) {
  return CommandFailed(
      invocation, kExitUsage,
      absl::StrCat(why, "; usage: opsctl incident ", verb.usage));
}

}  // namespace

bool IsIncidentResponse(absl::string_view verb) {
  return FindVerb(verb) != nullptr;
}

int RunIncidentResponse(Invocation& invocation, const ParsedArgs& args) {
  const std::vector<std::string>& words = args.positional();
  const Verb& verb = *FindVerb(words[0]);
  if (invocation.output() == OutputFormat::kMarkdown)
    return Usage(invocation, verb, "--output markdown is for incident show");
  if (words.size() < 2) return Usage(invocation, verb, "no incident id");
  v1::IncidentResponse request;
  request.set_incident(words[1]);
  request.set_action(verb.action);
  const std::vector<std::string> rest(words.begin() + 2, words.end());
  switch (verb.action) {
    case v1::IncidentResponse::ACTION_NOTE:
      if (rest.empty()) return Usage(invocation, verb, "no note");
      request.set_text(absl::StrJoin(rest, " "));
      break;
    case v1::IncidentResponse::ACTION_UNSILENCE:
      if (rest.size() > 1) return Usage(invocation, verb, "too many arguments");
      if (!rest.empty()) request.set_silence_id(rest[0]);
      break;
    default:
      if (!rest.empty()) return Usage(invocation, verb, "too many arguments");
      request.set_text(invocation.context().reason);
      break;
  }
  if ((verb.action == v1::IncidentResponse::ACTION_RESOLVE ||
       verb.action == v1::IncidentResponse::ACTION_REOPEN ||
       verb.action == v1::IncidentResponse::ACTION_SILENCE) &&
      request.text().empty())
    return Usage(invocation, verb, "say why with --reason");
  if (args.Has("for") != (verb.action == v1::IncidentResponse::ACTION_SILENCE))
    return Usage(invocation, verb,
                 args.Has("for") ? "only silence takes --for"
                                 : "say how long with --for (30m, 2h)");
  if (args.Has("for")) {
    absl::Duration length;
    if (!absl::ParseDuration(args.Get("for"), &length) ||
        length < absl::Minutes(1) || length > absl::Hours(24 * 7))
      return Usage(invocation, verb,
                   "--for takes a duration from 1m to 168h (30m, 2h)");
    request.set_silence_seconds(
        static_cast<uint32_t>(absl::ToInt64Seconds(length)));
  }
  if (!invocation.via_controller())
    return CommandFailed(
        invocation, kExitUsage,
        "incidents are kept by the controller: there is none with --direct "
        "or without `controller` in the operator config");
  const OperatorIdentity who = invocation.who();
  request.mutable_claims()->set_os_user(who.os_user);
  request.mutable_claims()->set_os_uid(who.os_uid);
  request.mutable_claims()->set_sudo_user(who.sudo_user);
  // Silences wait for Alertmanager: at most 10 requests of at most 30 s
  // each (opsctld's alertmanager.timeout_seconds).
  absl::StatusOr<v1::IncidentResponseRecorded> recorded =
      invocation.AskController(&ControllerStub::RespondToIncident, request,
                               absl::Seconds(330));
  if (!recorded.ok())
    return CommandFailed(invocation,
                         ExitCodeForControllerError(recorded.status()),
                         std::string(recorded.status().message()));
  if (invocation.output() == OutputFormat::kJson) {
    std::fprintf(invocation.out(), "%s\n", ProtoToJson(*recorded).c_str());
    return kExitOk;
  }
  const v1::Incident& incident = recorded->incident();
  std::string said = absl::StrCat(incident.id(), " ", verb.done);
  if (!incident.owner().empty())
    absl::StrAppend(&said, "; owner ", incident.owner());
  absl::StrAppend(&said, "; status ", incident.status());
  if (verb.action == v1::IncidentResponse::ACTION_SILENCE) {
    for (const v1::IncidentSilence& silence : incident.silences()) {
      if (silence.expired_at_ms() != 0) continue;
      absl::StrAppend(
          &said, "\n  silence ", silence.id(), " ", silence.matchers(),
          " until ",
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                           absl::FromUnixMillis(silence.ends_at_ms()),
                           absl::UTCTimeZone()));
    }
  }
  std::fprintf(invocation.out(), "%s\n(audit row %lld)\n",
               TerminalSafe(said, LineBreaks::kKeep).c_str(),
               static_cast<long long>(recorded->audit_id()));
  return kExitOk;
}

}  // namespace opsagent
