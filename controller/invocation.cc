#include "controller/invocation.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/request_meta.h"
#include "common/tls/certificate_info.h"
#include "common/trusted_path.h"
#include "controller/incident_id.h"
#include "controller/operator_config.h"

namespace opsagent {
namespace {

// The real user, from the kernel; SUDO_USER only as a claim.
OperatorIdentity LocalUser() {
  OperatorIdentity who;
  const uid_t uid = getuid();
  who.os_uid = uid;
  // getpwuid_r: opsctld runs commands on several threads at once.
  passwd entry;
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr) {
    who.os_user = found->pw_name;
  } else {
    who.os_user = absl::StrCat("uid:", uid);
  }
  if (const char* sudo_user = std::getenv("SUDO_USER");
      sudo_user != nullptr && *sudo_user) {
    who.sudo_user = sudo_user;
  }
  return who;
}

}  // namespace

namespace {

constexpr std::pair<OutputFormat, absl::string_view> kOutputFormats[] = {
    {OutputFormat::kTable, "table"},
    {OutputFormat::kJson, "json"},
    {OutputFormat::kCsv, "csv"},
    {OutputFormat::kMarkdown, "markdown"}};

}  // namespace

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name) {
  for (const auto& [format, format_name] : kOutputFormats) {
    if (name == format_name) return format;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--output ", name, ": use table, json, csv or markdown"));
}

absl::string_view OutputFormatName(OutputFormat format) {
  for (const auto& [known, name] : kOutputFormats) {
    if (known == format) return name;
  }
  return "table";
}

const std::vector<FlagSpec>& Invocation::GlobalFlags() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"config", "FILE",
       "operator config (default $OPSCTL_CONFIG, "
       "~/.config/opsctl/config.textproto, else "
       "/etc/opsctl/config.textproto)"},
      {"output", "FORMAT",
       "table (default) or json; csv for audit, markdown for incident show "
       "(-o)"},
      {"reason", "TEXT",
       "why you are doing this; recorded in the audit log and by the agent"},
      {"incident", "ID",
       "the incident (INC-7) this is for; recorded with every action (through "
       "the controller, one it has opened)"},
      {"ticket", "REF",
       "a reference outside opsagent (a ticket, a change, a drill's name: "
       "CHG-1042); recorded with every action, apart from --incident"},
      {"timeout", "SECONDS", "per-call deadline (default from config, 30)"},
      {"concurrency", "N",
       "hosts worked on at once when a target names several (default 20)"},
      {"max-failures", "N",
       "stop starting hosts after N have failed (default: never stop)"},
      {"direct", "",
       "break-glass: talk to the agents directly and audit locally, not "
       "through the controller (when it is down)"},
      {"help", "", "show help"},
  };
  return *kFlags;
}

absl::StatusOr<std::unique_ptr<Invocation>> Invocation::FromArgs(
    const ParsedArgs& args) {
  std::unique_ptr<Invocation> owned(new Invocation());
  Invocation& invocation = *owned;
  invocation.config_path_ = OperatorConfigPath(args.Get("config"));
  invocation.direct_ = args.Has("direct");
  absl::StatusOr<OutputFormat> output =
      ParseOutputFormat(args.Get("output", "table"));
  if (!output.ok()) return output.status();
  invocation.output_ = *output;
  invocation.context_.reason = args.Get("reason");
  // An id in another form ("inc-3", "INC-03") would be recorded as given
  // and left out of INC-3's timeline: refused before anything is sent.
  if (args.Has("incident")) {
    absl::StatusOr<int64_t> incident =
        ParseIncidentId(args.Get("incident"), "--incident");
    if (!incident.ok()) return incident.status();
    invocation.context_.incident = args.Get("incident");
  }
  invocation.context_.ticket = args.Get("ticket");
  if (absl::Status status = CheckCallerText(
          "--ticket", invocation.context_.ticket, kMaxRequestIdBytes);
      !status.ok()) {
    return status;
  }
  for (auto [flag, out, min] :
       {std::tuple{"concurrency", &invocation.fan_out_.concurrency, 1},
        {"max-failures", &invocation.fan_out_.max_failures, 0}}) {
    if (args.Has(flag) && (!absl::SimpleAtoi(args.Get(flag), out) ||
                           *out < min || *out > 10000)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " takes a number from ", min, " to 10000"));
    }
  }
  if (args.Has("timeout")) {
    int seconds;
    if (!absl::SimpleAtoi(args.Get("timeout"), &seconds) || seconds <= 0 ||
        seconds > 86400) {
      return absl::InvalidArgumentError(
          "--timeout takes whole seconds between 1 and 86400");
    }
    invocation.timeout_ = absl::Seconds(seconds);
  }
  return owned;
}

const std::string& Invocation::EnsureRunId() {
  if (context_.run_id.empty()) context_.run_id = NewRequestId();
  return context_.run_id;
}

absl::StatusOr<const v1::OperatorConfig*> Invocation::config() {
  if (!config_) {
    absl::StatusOr<v1::OperatorConfig> loaded =
        LoadOperatorConfig(config_path_);
    if (!loaded.ok()) return loaded.status();
    config_ = *std::move(loaded);
  }
  return &*config_;
}

absl::StatusOr<const Inventory*> Invocation::inventory() {
  if (!inventory_) {
    absl::StatusOr<const v1::OperatorConfig*> cfg = config();
    if (!cfg.ok()) return cfg.status();
    // Host names and addresses: what opsctl connects to.
    if (absl::Status status =
            CheckTrustedPath((*cfg)->inventory(), TrustedKind::kFile);
        !status.ok() && !absl::IsNotFound(status))
      return status;
    absl::StatusOr<Inventory> loaded = Inventory::Load((*cfg)->inventory());
    if (!loaded.ok()) return loaded.status();
    inventory_ = *std::move(loaded);
  }
  return &*inventory_;
}

absl::StatusOr<AuditStore*> Invocation::audit() {
  if (!audit_) {
    absl::StatusOr<const v1::OperatorConfig*> cfg = config();
    if (!cfg.ok()) return cfg.status();
    absl::StatusOr<std::unique_ptr<AuditStore>> opened =
        AuditStore::Open((*cfg)->audit_database());
    if (!opened.ok()) return opened.status();
    audit_ = *std::move(opened);
  }
  return audit_.get();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
Invocation::credentials() {
  absl::StatusOr<const v1::OperatorConfig*> cfg = config();
  if (!cfg.ok()) return cfg.status();
  absl::MutexLock lock(&credentials_mutex_);
  if (credentials_ == nullptr) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> made =
        MakeChannelCredentials({(*cfg)->certificate(), (*cfg)->private_key(),
                                (*cfg)->ca_certificate()});
    if (!made.ok()) return made.status();
    credentials_ = *std::move(made);
  }
  return credentials_;
}

absl::Duration Invocation::CallTimeout(absl::Duration minimum) {
  absl::StatusOr<const v1::OperatorConfig*> cfg = config();
  const absl::Duration configured =
      cfg.ok() ? absl::Seconds((*cfg)->timeout_seconds()) : absl::Seconds(30);
  const absl::Duration timeout =
      timeout_.value_or(std::max(configured, minimum));
  if (!deadline_) return timeout;
  // Calls are made in whole seconds: one past the deadline still gets one.
  return std::min(timeout,
                  std::max(*deadline_ - absl::Now(), absl::Seconds(1)));
}

absl::Status Invocation::Confirm(const std::string& question,
                                 bool assume_yes) const {
  if (assume_yes) return absl::OkStatus();
  if (asker_ == nullptr)
    return absl::FailedPreconditionError(
        "nobody can be asked here; a change needs --yes");
  return asker_(question);
}

bool Invocation::ShowsProgress() const {
  return err() == stderr && isatty(STDERR_FILENO);
}

bool Invocation::via_controller() {
  absl::StatusOr<const v1::OperatorConfig*> cfg = config();
  return !direct_ && cfg.ok() && !(*cfg)->controller().empty();
}

absl::StatusOr<ControllerClient*> Invocation::controller() {
  if (controller_ == nullptr) {
    absl::StatusOr<const v1::OperatorConfig*> cfg = config();
    if (!cfg.ok()) return cfg.status();
    // Each controller given up on is one line where errors go.
    absl::StatusOr<std::unique_ptr<ControllerClient>> client =
        ControllerClient::Connect(**cfg, [this](const std::string& line) {
          std::fprintf(err(), "%s\n", line.c_str());
          std::fflush(err());
        });
    if (!client.ok()) return client.status();
    controller_ = *std::move(client);
  }
  return controller_.get();
}

OperatorIdentity Invocation::who() {
  OperatorIdentity who = LocalUser();
  if (inside_daemon_) who.sudo_user.clear();
  if (absl::StatusOr<const v1::OperatorConfig*> cfg = config(); cfg.ok()) {
    absl::StatusOr<CertificateInfo> cert =
        ReadCertificateFile((*cfg)->certificate());
    if (cert.ok()) who.cert_identity = cert->common_name;
  }
  return who;
}

absl::StatusOr<std::unique_ptr<AgentClient>> Invocation::Connect(
    const v1::Host& host, absl::Duration minimum_timeout) {
  absl::StatusOr<const v1::OperatorConfig*> cfg = config();
  if (!cfg.ok()) return cfg.status();
  const absl::Duration timeout = CallTimeout(minimum_timeout);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> shared =
      credentials();
  if (!shared.ok()) return shared.status();
  return AgentClient::Connect(*std::move(shared), host, timeout);
}

absl::StatusOr<AuditingCaller> Invocation::Caller() {
  absl::StatusOr<AuditStore*> store = audit();
  if (!store.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("nothing was sent: the audit log cannot be opened (",
                     store.status().message(), ")"));
  }
  return AuditingCaller(*store, who(), context_);
}

std::string Invocation::Explain(const absl::Status& status,
                                const v1::Host& host) {
  std::string text(status.message());
  if (status.code() != absl::StatusCode::kUnavailable || !config_) return text;
  absl::StatusOr<CertificateInfo> cert =
      ReadCertificateFile(config_->certificate());
  const absl::Time now = absl::Now();
  if (cert.ok() && cert->not_after < now) {
    absl::StrAppend(&text, "; your operator certificate ",
                    config_->certificate(), " expired at ",
                    absl::FormatTime(absl::RFC3339_sec, cert->not_after,
                                     absl::UTCTimeZone()));
  } else if (cert.ok() && cert->not_before > now) {
    absl::StrAppend(&text, "; your operator certificate is not valid until ",
                    absl::FormatTime(absl::RFC3339_sec, cert->not_before,
                                     absl::UTCTimeZone()));
  } else if (absl::StrContains(status.message(), "reset by peer")) {
    absl::StrAppend(&text,
                    "; the agent reset the connection: it may be at its "
                    "connection limits (limits.max_connections, a flood of "
                    "connections?), or refusing your certificate; try again "
                    "shortly and check the agent's log");
  } else if (absl::StrContains(status.message(), "ssl") ||
             absl::StrContains(status.message(), "SSL") ||
             absl::StrContains(status.message(), "handshake") ||
             absl::StrContains(status.message(), "Socket closed")) {
    absl::StrAppend(&text,
                    "; the TLS handshake failed: check that your certificate "
                    "is signed by the CA "
                    "the agent trusts, and that the agent's certificate names ",
                    host.name());
  } else {
    absl::StrAppend(&text, "; is opsagent running on ", host.address(), "?");
  }
  return text;
}

}  // namespace opsagent
