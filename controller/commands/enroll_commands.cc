// Fleet commands: enrollment tokens (enroll token create|list|revoke) and
// the revocation of a host's certificates (host revoke).

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "controller/commands/command.h"
#include "controller/exit_codes.h"
#include "controller/output/table.h"

namespace opsagent {
namespace {

int Usage(Invocation& invocation, absl::string_view why) {
  return CommandFailed(invocation, kExitUsage,
                       absl::StrCat(why, " (opsctl enroll --help)"));
}

std::vector<std::string> List(const std::string& text) {
  return absl::StrSplit(text, ',', absl::SkipWhitespace());
}

v1::OperatorClaims Claims(Invocation& invocation) {
  const OperatorIdentity who = invocation.who();
  v1::OperatorClaims claims;
  claims.set_os_user(who.os_user);
  claims.set_os_uid(who.os_uid);
  claims.set_sudo_user(who.sudo_user);
  return claims;
}

std::string When(int64_t unix_ms) {
  return unix_ms == 0 ? "-"
                      : absl::FormatTime("%Y-%m-%d %H:%M UTC",
                                         absl::FromUnixMillis(unix_ms),
                                         absl::UTCTimeZone());
}

std::string State(const v1::EnrollmentToken& token) {
  if (token.revoked_at_ms() != 0) return "revoked";
  if (absl::ToUnixMillis(absl::Now()) >= token.expires_at_ms())
    return "expired";
  if (token.used() >= token.uses()) return "used up";
  return "usable";
}

int PrintTokens(Invocation& invocation,
                const std::vector<v1::EnrollmentToken>& tokens) {
  if (invocation.output() == OutputFormat::kJson) {
    std::vector<std::string> items;
    for (const v1::EnrollmentToken& token : tokens)
      items.push_back(ProtoToJson(token));
    std::fprintf(invocation.out(), "[%s]\n", absl::StrJoin(items, ",").c_str());
    return kExitOk;
  }
  TextTable table({"TOKEN", "STATE", "USED", "EXPIRES", "ROLES", "ENVIRONMENT",
                   "NAMES", "CREATED BY"});
  for (const v1::EnrollmentToken& token : tokens) {
    table.AddRow({token.id(), State(token),
                  absl::StrCat(token.used(), "/", token.uses()),
                  When(token.expires_at_ms()),
                  absl::StrJoin(token.roles(), ","), token.environment(),
                  absl::StrJoin(token.names(), ","), token.created_by()});
  }
  std::fprintf(invocation.out(), "%s", table.Render().c_str());
  return kExitOk;
}

int CreateToken(Invocation& invocation, const ParsedArgs& args) {
  v1::EnrollmentTokenRequest request;
  for (const std::string& role : List(args.Get("roles")))
    request.add_roles(role);
  for (const std::string& name : List(args.Get("names")))
    request.add_names(name);
  request.set_environment(args.Get("environment"));
  uint32_t uses = 1;
  if (args.Has("uses") && !absl::SimpleAtoi(args.Get("uses"), &uses))
    return Usage(invocation, "--uses takes a number of hosts");
  request.set_uses(uses);
  absl::Duration ttl = absl::Hours(24);
  if (args.Has("ttl") && !absl::ParseDuration(args.Get("ttl"), &ttl))
    return Usage(invocation, "--ttl takes a duration (24h, 30m)");
  request.set_ttl_seconds(
      static_cast<uint32_t>(std::max<int64_t>(0, absl::ToInt64Seconds(ttl))));
  if (args.Has("certificate-life")) {
    absl::Duration life;
    if (!absl::ParseDuration(args.Get("certificate-life"), &life) ||
        life < absl::Minutes(1))
      return Usage(invocation,
                   "--certificate-life takes a duration (168h, 24h)");
    request.set_certificate_seconds(
        static_cast<uint32_t>(absl::ToInt64Seconds(life)));
  }
  request.set_reason(invocation.context().reason);
  *request.mutable_claims() = Claims(invocation);
  absl::StatusOr<v1::EnrollmentTokenCreated> created =
      invocation.AskController(&ControllerStub::CreateEnrollmentToken, request);
  if (!created.ok())
    return CommandFailed(invocation,
                         ExitCodeForControllerError(created.status()),
                         created.status().message());
  if (invocation.output() == OutputFormat::kJson) {
    std::fprintf(
        invocation.out(), "%s\n",
        DumpJson({{"token", EmbeddedJson(ProtoToJson(created->token()))},
                  {"secret", created->secret()},
                  {"audit_id", created->audit_id()}})
            .c_str());
    return kExitOk;
  }
  // The token alone on stdout, for a file or a secret store; the rest for
  // the person.
  std::fprintf(invocation.out(), "%s\n", created->secret().c_str());
  const v1::EnrollmentToken& token = created->token();
  std::fprintf(
      invocation.err(),
      "token %s: up to %u host(s) named %s, roles %s%s, until %s "
      "(audit row %lld). It is shown this once; the controller keeps "
      "only its digest.\n",
      token.id().c_str(), token.uses(),
      absl::StrJoin(token.names(), ",").c_str(),
      absl::StrJoin(token.roles(), ",").c_str(),
      token.environment().empty()
          ? ""
          : absl::StrCat(", environment ", token.environment()).c_str(),
      When(token.expires_at_ms()).c_str(),
      static_cast<long long>(created->audit_id()));
  return kExitOk;
}

int RunEnroll(Invocation& invocation, const ParsedArgs& args) {
  const std::vector<std::string>& words = args.positional();
  if (words[0] != "token" || words.size() < 2)
    return Usage(invocation, "usage: opsctl enroll token create|list|revoke");
  if (!invocation.via_controller())
    return CommandFailed(invocation, kExitUsage,
                         "enrollment tokens are kept by the controller: "
                         "there is none with --direct");
  const std::string& verb = words[1];
  if (verb == "create") {
    if (words.size() != 2) return Usage(invocation, "create takes no words");
    return CreateToken(invocation, args);
  }
  if (verb == "list") {
    if (words.size() != 2) return Usage(invocation, "list takes no words");
    v1::ListEnrollmentTokensRequest request;
    request.set_all(args.Has("all"));
    absl::StatusOr<v1::ListEnrollmentTokensReply> listed =
        invocation.AskController(&ControllerStub::ListEnrollmentTokens,
                                 request);
    if (!listed.ok())
      return CommandFailed(invocation,
                           ExitCodeForControllerError(listed.status()),
                           listed.status().message());
    return PrintTokens(invocation,
                       {listed->tokens().begin(), listed->tokens().end()});
  }
  if (verb == "revoke") {
    if (words.size() != 3)
      return Usage(invocation, "usage: opsctl enroll token revoke ID");
    v1::RevokeEnrollmentTokenRequest request;
    request.set_id(words[2]);
    request.set_reason(invocation.context().reason);
    *request.mutable_claims() = Claims(invocation);
    absl::StatusOr<v1::EnrollmentToken> revoked = invocation.AskController(
        &ControllerStub::RevokeEnrollmentToken, request);
    if (!revoked.ok())
      return CommandFailed(invocation,
                           ExitCodeForControllerError(revoked.status()),
                           revoked.status().message());
    return PrintTokens(invocation, {*revoked});
  }
  return Usage(invocation, absl::StrCat("no token command \"", verb, "\""));
}

int RunHost(Invocation& invocation, const ParsedArgs& args) {
  const std::vector<std::string>& words = args.positional();
  if (words[0] != "revoke" || words.size() != 2)
    return CommandFailed(invocation, kExitUsage,
                         "usage: opsctl host revoke NAME --reason TEXT");
  if (!invocation.via_controller())
    return CommandFailed(invocation, kExitUsage,
                         "host certificates are revoked by the controller's "
                         "host CA: there is none with --direct");
  v1::RevokeHostRequest request;
  request.set_host(words[1]);
  request.set_reason(invocation.context().reason);
  *request.mutable_claims() = Claims(invocation);
  absl::StatusOr<v1::RevokeHostReply> revoked =
      invocation.AskController(&ControllerStub::RevokeHost, request);
  if (!revoked.ok())
    return CommandFailed(invocation,
                         ExitCodeForControllerError(revoked.status()),
                         revoked.status().message());
  if (invocation.output() == OutputFormat::kJson) {
    std::fprintf(invocation.out(), "%s\n", ProtoToJson(*revoked).c_str());
    return kExitOk;
  }
  std::fprintf(invocation.out(),
               "revoked %d certificate(s) of %s (%s)%s; audit row %lld\n",
               revoked->serials_size(), words[1].c_str(),
               absl::StrJoin(revoked->serials(), ", ").c_str(),
               revoked->link_ended() ? ", its link ended" : "",
               static_cast<long long>(revoked->audit_id()));
  return kExitOk;
}

std::vector<Command> EnrollCommands() {
  return {
      {"enroll",
       "token create|list|revoke ...",
       "enrollment tokens: hosts that enroll themselves",
       "A host with the agent package and a token enrolls itself: it makes "
       "its key,\n"
       "asks the controller's host CA for a certificate for its name, and "
       "renews it\n"
       "over its link at two thirds of its life (docs/DEPLOY.md). A token "
       "says which\n"
       "names it may enroll, with which roles and environment, how many "
       "hosts and\n"
       "until when. Its secret is printed once, alone on stdout; the "
       "controller keeps\n"
       "only its digest. Making, using and revoking one are rows of the "
       "team's log\n"
       "(permission \"enroll\").\n\n"
       "  token create --roles R[,R] --names GLOB[,GLOB] [--environment E]\n"
       "               [--uses N] [--ttl 24h] [--certificate-life 168h]\n"
       "  token list [--all]       usable tokens (--all: also expired, used "
       "up, revoked)\n"
       "  token revoke ID          no more hosts enroll with it\n\n"
       "A name glob without a dot matches the host name's first label "
       "(ip-10-7-*),\n"
       "one with dots the whole name; * never crosses a dot.\n\n"
       "Examples:\n"
       "  opsctl enroll token create --roles xqwatcher --environment "
       "production \\\n"
       "      --names 'ip-10-7-*' --uses 20 --ttl 24h > xqwatcher.token\n"
       "  opsctl enroll token list --all\n"
       "  opsctl enroll token revoke 3f9a0c1d2e4b --reason \"ASG done\"\n",
       {{"roles", "LIST", "the hosts' roles, comma-separated"},
        {"names", "LIST", "host name globs it may enroll, comma-separated"},
        {"environment", "NAME", "the hosts' environment"},
        {"uses", "N", "how many hosts may enroll with it (default 1)"},
        {"ttl", "DURATION", "how long it may be used (default 24h)"},
        {"certificate-life", "DURATION",
         "life of the certificates (default: the controller's)"},
        {"all", "", "list expired, used-up and revoked tokens too"}},
       2,
       3,
       RunEnroll},
      {"host",
       "revoke NAME",
       "revoke a host's certificates: its link ends, it is refused",
       "Revokes every certificate the controller's host CA issued to NAME: "
       "its link\n"
       "ends at once, the CRL the controller checks lists them, it cannot "
       "renew, and it\n"
       "enrolls again only with a token made after this. For a lost, "
       "stolen or retired\n"
       "host. A row of the team's log (permission \"enroll\"; --reason is "
       "required).\n\n"
       "Example:\n"
       "  opsctl host revoke ip-10-7-1-9.xq.example.net --reason \"instance "
       "terminated, key may be on its disk\"\n",
       {},
       2,
       2,
       RunHost},
  };
}

}  // namespace

OPSCTL_COMMANDS(kHosts, EnrollCommands);

}  // namespace opsagent
