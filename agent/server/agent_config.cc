#include "agent/server/agent_config.h"

#include <unistd.h>

#include <climits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/ops/command_template.h"
#include "common/host_text.h"
#include "common/operation_catalog.h"
#include "common/text_proto_file.h"
#include "common/tls/certificate_info.h"
#include "common/tls/credentials.h"
#include "common/tls/host_certificate.h"
#include "common/trusted_path.h"

namespace opsagent {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("config field ", field, ": ", problem));
}

absl::Status CheckAddress(const std::string& field, const std::string& address,
                          int min_port) {
  size_t colon = address.rfind(':');
  int port;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < min_port ||
      port > 65535) {
    return FieldError(field,
                      absl::StrCat("\"", address, "\" is not HOST:PORT"));
  }
  return absl::OkStatus();
}

// The listener, the controller link, or both: an agent nobody can reach
// serves nothing.
absl::Status CheckEndpoints(const v1::AgentConfig& config) {
  const v1::ControllerLink& link = config.controller();
  if (config.listen_address().empty() && link.address().empty()) {
    return FieldError("listen_address",
                      "is required (e.g. \"0.0.0.0:9443\") unless a "
                      "controller is configured");
  }
  if (!config.listen_address().empty()) {
    if (absl::Status status =
            CheckAddress("listen_address", config.listen_address(), 0);
        !status.ok())
      return status;
  }
  if (link.address().empty()) {
    if (!link.name().empty())
      return FieldError("controller.address", "is required");
    return absl::OkStatus();
  }
  if (absl::Status status =
          CheckAddress("controller.address", link.address(), 1);
      !status.ok())
    return status;
  if (link.name().empty()) {
    return FieldError("controller.name",
                      "is required: the DNS name the controller's "
                      "certificate carries");
  }
  if (config.journal_path().empty()) {
    return FieldError("journal_path",
                      "is required with a controller: it keeps the signed "
                      "requests already run, so that none can be replayed "
                      "after a restart");
  }
  if (link.max_backoff_seconds() > 3600)
    return FieldError("controller.max_backoff_seconds", "may be at most 3600");
  return absl::OkStatus();
}

// Each further controller as `controller` is checked, and none at an
// address already linked to: two links to one controller would make it
// see this host register twice, each evicting the other.
absl::Status CheckMoreControllers(const v1::AgentConfig& config) {
  if (config.more_controllers().empty()) return absl::OkStatus();
  if (config.controller().address().empty()) {
    return FieldError("more_controllers",
                      "needs `controller` (the first controller, whose host "
                      "CA renews this host's certificate); move one entry "
                      "there");
  }
  absl::flat_hash_set<std::string> addresses = {config.controller().address()};
  for (int i = 0; i < config.more_controllers_size(); ++i) {
    const v1::ControllerLink& link = config.more_controllers(i);
    const std::string field = absl::StrCat("more_controllers[", i, "]");
    if (link.address().empty())
      return FieldError(absl::StrCat(field, ".address"),
                        "is required (host:port of that opsctld)");
    if (absl::Status status =
            CheckAddress(absl::StrCat(field, ".address"), link.address(), 1);
        !status.ok())
      return status;
    if (link.name().empty()) {
      return FieldError(absl::StrCat(field, ".name"),
                        "is required: the DNS name that controller's "
                        "certificate carries");
    }
    if (link.max_backoff_seconds() > 3600)
      return FieldError(absl::StrCat(field, ".max_backoff_seconds"),
                        "may be at most 3600");
    if (!addresses.insert(link.address()).second) {
      return FieldError(
          absl::StrCat(field, ".address"),
          absl::StrCat("\"", link.address(),
                       "\" is already linked to (by `controller` or an "
                       "earlier entry); each controller is listed once"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEnrollment(const v1::AgentConfig& config) {
  if (!config.has_enrollment()) return absl::OkStatus();
  const v1::EnrollmentConfig& enrollment = config.enrollment();
  if (config.controller().address().empty())
    return FieldError("enrollment",
                      "needs a controller: the host renews its certificate "
                      "over the controller link");
  if (enrollment.address().empty())
    return FieldError("enrollment.address",
                      "is required (the controller's "
                      "host_ca.enrollment_listen_address)");
  if (absl::Status status =
          CheckAddress("enrollment.address", enrollment.address(), 1);
      !status.ok())
    return status;
  if (enrollment.token_file().empty() || enrollment.token_file()[0] != '/')
    return FieldError("enrollment.token_file",
                      "is required, as an absolute path (a file readable by "
                      "the agent alone, holding the token)");
  return absl::OkStatus();
}

absl::Status CheckRule(int index, const v1::AuthorizationRule& rule) {
  const std::string field = absl::StrCat("authorization[", index, "]");
  if (rule.identities().empty() && rule.roles().empty()) {
    return FieldError(field,
                      "names no identities and no roles, so it grants nothing");
  }
  if (rule.operations().empty())
    return FieldError(field, "names no operations");
  for (const std::string& op : rule.operations()) {
    if (op != "*" && FindOperation(op) == nullptr) {
      std::string known;
      for (const OperationInfo* spec : AllOperations())
        absl::StrAppend(&known, known.empty() ? "" : ", ", spec->name);
      return FieldError(field, absl::StrCat("unknown operation \"", op,
                                            "\" (known: ", known, ", *)"));
    }
  }
  return absl::OkStatus();
}

// The agent's own files must not be truncatable: on-call could otherwise
// empty the agent's journal of what it did, its configuration or its keys.
absl::Status CheckOwnFilesNotTruncatable(const v1::AgentConfig& config,
                                         const LogAllowList& logs,
                                         const std::string& config_path) {
  const std::pair<const char*, const std::string*> own[] = {
      {"journal_path", &config.journal_path()},
      {"tls.certificate", &config.tls().certificate()},
      {"tls.private_key", &config.tls().private_key()},
      {"tls.ca_certificate", &config.tls().ca_certificate()},
      {"the configuration file", &config_path}};
  for (const auto& [field, path] : own) {
    if (!path->empty() && logs.Covers(*path)) {
      return FieldError("truncatable_logs",
                        absl::StrCat("a pattern covers ", *path, " (", field,
                                     "): the agent's own files can never be "
                                     "truncatable"));
    }
  }
  const std::string& crl_directory = config.tls().crl_directory();
  if (!crl_directory.empty()) {
    for (const std::string& pattern : logs.patterns()) {
      if (pattern.substr(0, pattern.rfind('/')) == crl_directory) {
        return FieldError(
            "truncatable_logs",
            absl::StrCat(pattern, " lies in tls.crl_directory ", crl_directory,
                         ": the agent's own files can never be truncatable"));
      }
    }
  }
  return absl::OkStatus();
}

// The agent's certificate must be usable both ways: opsctl requires
// serverAuth and a DNS name; the watchdog's probe (and the dial-out to a
// controller) present it as a client.
absl::Status CheckOwnCertificate(const std::string& path) {
  absl::StatusOr<CertificateInfo> cert = ReadCertificateFile(path);
  if (!cert.ok()) return FieldError("tls.certificate", cert.status().message());
  if (!cert->server_auth || !cert->client_auth) {
    return FieldError(
        "tls.certificate",
        absl::StrCat(path,
                     " must have the extended key usages serverAuth and "
                     "clientAuth (make-dev-pki.sh agent issues both)"));
  }
  if (cert->dns_names.empty()) {
    return FieldError("tls.certificate",
                      absl::StrCat(path,
                                   " has no DNS subjectAltName: opsctl accepts "
                                   "a host only by its DNS name"));
  }
  return absl::OkStatus();
}

absl::Status CheckJournalPath(const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  if (path.front() != '/')
    return FieldError("journal_path",
                      absl::StrCat("\"", path, "\" is not absolute"));
  if (absl::Status status = CheckWrittenFile(path); !status.ok())
    return FieldError("journal_path", status.message());
  return absl::OkStatus();
}

bool IsServiceName(const std::string& name) {
  if (name.empty() || name.size() > 256 || name.front() == '-') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.' &&
        c != '@' && c != ':')
      return false;
  }
  return true;
}

absl::Status CheckRestartable(int index, v1::RestartableService& service,
                              const v1::AgentConfig& config) {
  const std::string field = absl::StrCat("restartable[", index, "]");
  if (!IsServiceName(service.name())) {
    return FieldError(
        field,
        absl::StrCat(
            "name \"", service.name(),
            "\" is not a unit or program name (letters, digits, - _ . @ :)"));
  }
  if (service.manager() == v1::SERVICE_MANAGER_KIND_UNSPECIFIED) {
    return FieldError(
        field, "manager is required (SYSTEMD_UNIT or SUPERVISOR_PROGRAM)");
  }
  if (service.manager() == v1::SYSTEMD_UNIT &&
      service.name().find('.') == std::string::npos) {
    return FieldError(field, absl::StrCat("give the full unit name (\"",
                                          service.name(), ".service\")"));
  }
  const std::string own = config.systemd().own_unit().empty()
                              ? "opsagent.service"
                              : config.systemd().own_unit();
  if (service.manager() == v1::SYSTEMD_UNIT && service.name() == own) {
    return FieldError(
        field,
        absl::StrCat(own, " is the agent itself and cannot be restartable"));
  }
  if (service.manager() == v1::SUPERVISOR_PROGRAM &&
      config.supervisor().config().empty()) {
    return FieldError(field,
                      "supervisord programs need supervisor.config (the "
                      "supervisord.conf to talk through)");
  }
  if (service.max_attempts() == 0) service.set_max_attempts(3);
  if (service.max_attempts() > 10)
    return FieldError(field, "max_attempts may be at most 10");
  if (service.settle_seconds() == 0) service.set_settle_seconds(3);
  if (service.backoff_seconds() == 0) service.set_backoff_seconds(1);
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckAgentIdentityFiles(const v1::AgentConfig& config) {
  const v1::TlsConfig& tls = config.tls();
  if (absl::Status status = CheckTlsFiles(
          {tls.certificate(), tls.private_key(), tls.ca_certificate()});
      !status.ok())
    return FieldError("tls", status.message());
  return CheckOwnCertificate(tls.certificate());
}

absl::StatusOr<AgentEnvironment> CompileAgentConfig(
    v1::AgentConfig config, const std::string& config_path) {
  AgentEnvironment agent;
  if (absl::Status status = CheckEndpoints(config); !status.ok()) return status;
  if (absl::Status status = CheckMoreControllers(config); !status.ok())
    return status;
  if (!config.controller().address().empty() &&
      config.controller().max_backoff_seconds() == 0)
    config.mutable_controller()->set_max_backoff_seconds(30);
  for (v1::ControllerLink& link : *config.mutable_more_controllers()) {
    if (link.max_backoff_seconds() == 0) link.set_max_backoff_seconds(30);
  }
  const v1::TlsConfig& tls = config.tls();
  if (tls.certificate().empty())
    return FieldError("tls.certificate", "is required");
  if (tls.private_key().empty())
    return FieldError("tls.private_key", "is required");
  if (tls.ca_certificate().empty())
    return FieldError("tls.ca_certificate", "is required");
  if (absl::Status status = CheckEnrollment(config); !status.ok())
    return status;
  if (config.has_enrollment()) {
    // The key and certificate come from enrollment, at start
    // (CheckAgentIdentityFiles then).
    if (absl::Status status = CheckTlsFiles({"", "", tls.ca_certificate()});
        !status.ok())
      return FieldError("tls", status.message());
  } else if (absl::Status status = CheckAgentIdentityFiles(config);
             !status.ok()) {
    return status;
  }
  if (!tls.crl_directory().empty()) {
    if (absl::Status status =
            CheckTrustedPath(tls.crl_directory(), TrustedKind::kDirectory);
        !status.ok()) {
      return FieldError("tls.crl_directory", status.message());
    }
  }
  if (config.tls().refresh_interval_seconds() == 0)
    config.mutable_tls()->set_refresh_interval_seconds(60);
  if (config.hostname().empty()) {
    char name[HOST_NAME_MAX + 1] = {};
    gethostname(name, sizeof(name) - 1);
    config.set_hostname(name);
  }
  // What the agent says of itself reaches operators' screens and the
  // controller's inventory.
  if (!IsDnsHostName(config.hostname())) {
    return FieldError("hostname",
                      absl::StrCat("\"", TerminalSafe(config.hostname()),
                                   "\" is not a DNS host name"));
  }
  if (!IsPrintableText(config.environment()))
    return FieldError("environment", "is not printable text");
  for (int i = 0; i < config.roles_size(); ++i) {
    if (config.roles(i).empty() || !IsPrintableText(config.roles(i)))
      return FieldError(absl::StrCat("roles[", i, "]"),
                        "is empty or not printable text");
  }
  if (absl::Status status = CheckJournalPath(config.journal_path());
      !status.ok())
    return status;
  for (int i = 0; i < config.inspection_roots_size(); ++i) {
    absl::StatusOr<AllowedDirectory> root =
        AllowedDirectory::Pin(config.inspection_roots(i));
    if (!root.ok()) {
      return FieldError(absl::StrCat("inspection_roots[", i, "]"),
                        root.status().message());
    }
    agent.inspection_roots.push_back(*std::move(root));
  }
  if (config.authorization().empty()) {
    return FieldError("authorization", "no rules: every call would be denied");
  }
  for (int i = 0; i < config.authorization_size(); ++i) {
    if (absl::Status status = CheckRule(i, config.authorization(i));
        !status.ok())
      return status;
  }
  absl::StatusOr<LogAllowList> logs =
      LogAllowList::Parse(std::vector<std::string>(
          config.truncatable_logs().begin(), config.truncatable_logs().end()));
  if (!logs.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config field ", logs.status().message()));
  }
  agent.truncatable_logs = *std::move(logs);
  if (absl::Status status = CheckOwnFilesNotTruncatable(
          config, agent.truncatable_logs, config_path);
      !status.ok())
    return status;
  absl::flat_hash_set<std::string> services;
  for (int i = 0; i < config.restartable_size(); ++i) {
    if (absl::Status status =
            CheckRestartable(i, *config.mutable_restartable(i), config);
        !status.ok())
      return status;
    if (!services.insert(config.restartable(i).name()).second) {
      return FieldError(
          absl::StrCat("restartable[", i, "]"),
          absl::StrCat(config.restartable(i).name(), " is listed twice"));
    }
  }
  for (const auto& [field, path] :
       {std::pair{"supervisor.supervisorctl",
                  config.supervisor().supervisorctl().empty()
                      ? std::string("/usr/bin/supervisorctl")
                      : config.supervisor().supervisorctl()},
        {"supervisor.config", config.supervisor().config()}}) {
    if (path.empty() || config.restartable().empty()) continue;
    if (absl::Status status = CheckTrustedPath(path, TrustedKind::kFile);
        !status.ok())
      return FieldError(field, status.message());
  }
  absl::flat_hash_set<std::string> commands;
  for (int i = 0; i < config.command_size(); ++i) {
    if (config.command(i).argv_size() > 0 &&
        !config.command(i).argv(0).empty() &&
        config.command(i).argv(0).front() == '/') {
      if (absl::Status status =
              CheckTrustedPath(config.command(i).argv(0), TrustedKind::kFile);
          !status.ok())
        return FieldError(absl::StrCat("command[", i, "].argv[0]"),
                          status.message());
    }
    if (absl::StatusOr<std::unique_ptr<CommandTemplate>> compiled =
            CommandTemplate::Compile(config.command(i));
        !compiled.ok()) {
      return FieldError(absl::StrCat("command[", i, "]"),
                        compiled.status().message());
    }
    if (!commands.insert(config.command(i).name()).second) {
      return FieldError(
          absl::StrCat("command[", i, "]"),
          absl::StrCat(config.command(i).name(), " is declared twice"));
    }
  }
  v1::Limits* limits = config.mutable_limits();
  if (limits->max_scan_entries() == 0) limits->set_max_scan_entries(5'000'000);
  if (limits->max_scan_seconds() == 0) limits->set_max_scan_seconds(300);
  if (limits->max_top_n() == 0) limits->set_max_top_n(100);
  if (limits->max_concurrent_scans() == 0) limits->set_max_concurrent_scans(2);
  if (limits->max_connections() == 0) limits->set_max_connections(256);
  if (limits->max_connections_per_peer() == 0)
    limits->set_max_connections_per_peer(32);
  if (limits->max_connections_per_peer() > limits->max_connections()) {
    return FieldError("limits.max_connections_per_peer",
                      "may not exceed limits.max_connections");
  }
  if (limits->handshake_timeout_seconds() == 0)
    limits->set_handshake_timeout_seconds(10);
  if (limits->liveness_probe_seconds() == 0)
    limits->set_liveness_probe_seconds(10);
  if (limits->journal_reserve_bytes() == 0)
    limits->set_journal_reserve_bytes(4 << 20);
  if (limits->journal_reserve_bytes() < (64 << 10) ||
      limits->journal_reserve_bytes() > (1 << 30)) {
    return FieldError("limits.journal_reserve_bytes",
                      absl::StrCat(limits->journal_reserve_bytes(),
                                   " is outside 65536 (64 KiB) to 1073741824 "
                                   "(1 GiB); 0 means 4 MiB"));
  }
  agent.config = std::move(config);
  return agent;
}

absl::StatusOr<AgentEnvironment> LoadAgentConfig(const std::string& path) {
  if (absl::Status status = CheckTrustedPath(path, TrustedKind::kFile);
      !status.ok())
    return status;
  v1::AgentConfig config;
  if (absl::Status status = LoadTextProtoFile(path, &config); !status.ok())
    return status;
  absl::StatusOr<AgentEnvironment> compiled =
      CompileAgentConfig(std::move(config), path);
  if (!compiled.ok()) {
    return absl::Status(compiled.status().code(),
                        absl::StrCat(path, ": ", compiled.status().message()));
  }
  return compiled;
}

}  // namespace opsagent
