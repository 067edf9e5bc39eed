#include "controller/server/opsctld_config.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/http/https_client.h"
#include "common/text_proto_file.h"
#include "common/tls/certificate_info.h"
#include "common/tls/credentials.h"
#include "common/trusted_path.h"
#include "controller/server/rpc_permission.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("config field ", field, ": ", problem));
}

// Whether two files' directories are one: the same directory by device and
// inode when both exist (whatever `..` or links name them), else the same
// path once `.` and `..` are resolved.
bool InSameDirectory(const std::string& a, const std::string& b) {
  const std::filesystem::path dir_a =
      std::filesystem::path(a).parent_path().lexically_normal();
  const std::filesystem::path dir_b =
      std::filesystem::path(b).parent_path().lexically_normal();
  struct stat st_a, st_b;
  if (stat(dir_a.c_str(), &st_a) == 0 && stat(dir_b.c_str(), &st_b) == 0)
    return st_a.st_dev == st_b.st_dev && st_a.st_ino == st_b.st_ino;
  return dir_a == dir_b;
}

}  // namespace

absl::Status CheckAccessRules(const v1::OpsctldConfig& config) {
  if (config.access().empty())
    return FieldError("access",
                      "no rules: no operator could use the controller");
  // What the RPCs declare (controller.proto), and "*" for all of them.
  const std::vector<std::string>& known = DeclaredPermissions();
  const std::string choices = absl::StrCat(absl::StrJoin(known, ", "), ", *");
  for (int i = 0; i < config.access_size(); ++i) {
    const v1::ControllerAccessRule& rule = config.access(i);
    const std::string field = absl::StrCat("access[", i, "]");
    if (rule.identities().empty() && rule.roles().empty())
      return FieldError(field,
                        "names no identities and no roles, so it grants "
                        "nothing");
    if (rule.permissions().empty())
      return FieldError(field,
                        absl::StrCat("names no permissions (", choices, ")"));
    for (const std::string& permission : rule.permissions()) {
      if (permission != "*" &&
          !std::binary_search(known.begin(), known.end(), permission))
        return FieldError(
            field, absl::StrCat("unknown permission \"", permission, "\" (",
                                choices, ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::OpsctldConfig> CompileOpsctldConfig(
    v1::OpsctldConfig config) {
  const std::string& address = config.listen_address();
  if (address.empty())
    return FieldError("listen_address", "is required (e.g. \"0.0.0.0:7443\")");
  const size_t colon = address.rfind(':');
  int port;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535)
    return FieldError("listen_address",
                      absl::StrCat("\"", address, "\" is not HOST:PORT"));
  const v1::TlsConfig& tls = config.tls();
  for (const auto& [field, value] :
       {std::pair{"tls.certificate", &tls.certificate()},
        {"tls.private_key", &tls.private_key()},
        {"tls.ca_certificate", &tls.ca_certificate()}}) {
    if (value->empty()) return FieldError(field, "is required");
  }
  if (absl::Status status = CheckTlsFiles(
          {tls.certificate(), tls.private_key(), tls.ca_certificate()});
      !status.ok())
    return FieldError("tls", status.message());
  absl::StatusOr<CertificateInfo> own = ReadCertificateFile(tls.certificate());
  if (!own.ok()) return FieldError("tls.certificate", own.status().message());
  if (!own->server_auth || own->dns_names.empty() ||
      std::find(own->organizational_units.begin(),
                own->organizational_units.end(),
                "controller") == own->organizational_units.end()) {
    return FieldError(
        "tls.certificate",
        "must be a controller certificate: extended key usage serverAuth, a "
        "DNS subjectAltName, and the role \"controller\" (OU=controller); "
        "deploy/pki/make-dev-pki.sh DIR controller NAME makes one");
  }
  if (!tls.crl_directory().empty()) {
    if (absl::Status status =
            CheckTrustedPath(tls.crl_directory(), TrustedKind::kDirectory);
        !status.ok())
      return FieldError("tls.crl_directory", status.message());
  }
  if (tls.refresh_interval_seconds() == 0)
    config.mutable_tls()->set_refresh_interval_seconds(60);
  if (config.audit_database().empty())
    return FieldError("audit_database",
                      "is required (e.g. /var/lib/opsctld/audit.db)");
  if (config.audit_database().front() != '/')
    return FieldError("audit_database", "must be an absolute path");
  if (!config.inventory().empty()) {
    if (absl::Status status =
            CheckTrustedPath(config.inventory(), TrustedKind::kFile);
        !status.ok())
      return FieldError("inventory", status.message());
  }
  if (absl::Status access = CheckAccessRules(config); !access.ok())
    return access;
  if (config.has_audit_checkpoints()) {
    v1::AuditCheckpointConfig& checkpoints =
        *config.mutable_audit_checkpoints();
    const std::string database_dir = config.audit_database().substr(
        0, config.audit_database().rfind('/') + 1);
    for (const auto& [field, value] :
         {std::pair{"audit_checkpoints.key_file", &checkpoints.key_file()},
          {"audit_checkpoints.export_file", &checkpoints.export_file()}}) {
      if (value->empty()) {
        if (std::string(field) == "audit_checkpoints.key_file")
          return FieldError(field, "is required");
        continue;
      }
      if (value->front() != '/')
        return FieldError(field, "must be an absolute path");
      if (InSameDirectory(*value, config.audit_database())) {
        return FieldError(
            field, absl::StrCat("must not be in the audit database's "
                                "directory ",
                                database_dir,
                                ": whoever can change or copy the database "
                                "there must not get this too"));
      }
    }
    if (checkpoints.export_file().empty() && !checkpoints.syslog())
      return FieldError("audit_checkpoints",
                        "exports nowhere: set export_file, syslog, or both");
    if (checkpoints.every_events() == 0) checkpoints.set_every_events(1000);
    if (checkpoints.every_seconds() == 0) checkpoints.set_every_seconds(300);
  }
  if (config.has_alert_intake()) {
    const v1::AlertIntakeConfig& intake = config.alert_intake();
    for (const auto& [field, value] :
         {std::pair{"alert_intake.listen_address", &intake.listen_address()},
          {"alert_intake.certificate", &intake.certificate()},
          {"alert_intake.private_key", &intake.private_key()},
          {"alert_intake.runbooks", &intake.runbooks()}}) {
      if (value->empty())
        return FieldError(field,
                          "is required (the intake serves HTTPS to senders "
                          "with the token only)");
    }
    if (intake.bearer_token_file().empty() && intake.senders().empty())
      return FieldError("alert_intake.senders",
                        "name at least one sender with its own token file "
                        "(senders { name: \"alertmanager\" bearer_token_file: "
                        "\"...\" }), or set bearer_token_file");
    std::set<std::string> sender_names;
    if (!intake.bearer_token_file().empty()) sender_names.insert("default");
    for (const v1::AlertSender& sender : intake.senders()) {
      const std::string& name = sender.name();
      if (name.empty() || name.size() > 64 ||
          !std::all_of(name.begin(), name.end(), [](char c) {
            return absl::ascii_islower(c) || absl::ascii_isdigit(c) ||
                   c == '.' || c == '_' || c == '-';
          }))
        return FieldError("alert_intake.senders.name",
                          absl::StrCat("\"", absl::CEscape(name),
                                       "\" must be 1 to 64 of [a-z0-9._-]"));
      if (!sender_names.insert(name).second)
        return FieldError(
            "alert_intake.senders.name",
            absl::StrCat("\"", name,
                         "\" is named twice (bearer_token_file is "
                         "the sender \"default\")"));
      if (sender.bearer_token_file().empty())
        return FieldError("alert_intake.senders.bearer_token_file",
                          absl::StrCat("is required (sender \"", name, "\")"));
    }
    if (absl::Status status =
            CheckTrustedPath(intake.runbooks(), TrustedKind::kDirectory);
        !status.ok())
      return FieldError("alert_intake.runbooks", status.message());
    for (const std::string& sender : intake.allowed_senders()) {
      if (absl::StatusOr<AddressRange> range = AddressRange::Parse(sender);
          !range.ok())
        return FieldError("alert_intake.allowed_senders",
                          range.status().message());
    }
    if (intake.has_automation()) {
      const v1::AutomationConfig& automation = intake.automation();
      if (automation.opsctl_config().empty())
        return FieldError("alert_intake.automation.opsctl_config",
                          "is required: opsctl's configuration with the "
                          "automation identity's certificate and key");
      if (absl::Status status =
              CheckTrustedPath(automation.opsctl_config(), TrustedKind::kFile);
          !status.ok())
        return FieldError("alert_intake.automation.opsctl_config",
                          status.message());
      for (const auto& [field, value, most] :
           {std::tuple{"alert_intake.automation.max_concurrent",
                       automation.max_concurrent(), 64u},
            {"alert_intake.automation.timeout_seconds",
             automation.timeout_seconds(), 3600u},
            {"alert_intake.automation.min_interval_seconds",
             automation.min_interval_seconds(), 86400u}}) {
        if (value > most)
          return FieldError(field, absl::StrCat("may be at most ", most));
      }
      if (!automation.opsctl().empty())
        spdlog::warn(
            "config field alert_intake.automation.opsctl is ignored: the "
            "automatic diagnosis runs inside opsctld");
    }
  }
  if (config.has_alertmanager()) {
    v1::AlertmanagerConfig& alertmanager = *config.mutable_alertmanager();
    if (absl::Status url = CheckOutgoingUrl(alertmanager.url()); !url.ok())
      return FieldError("alertmanager.url", url.message());
    for (const auto& [field, path, kind] :
         {std::tuple{"alertmanager.ca_file", &alertmanager.ca_file(),
                     TrustedKind::kFile},
          {"alertmanager.bearer_token_file", &alertmanager.bearer_token_file(),
           TrustedKind::kSecretFile}}) {
      if (path->empty()) continue;
      if (absl::Status status = CheckTrustedPath(*path, kind); !status.ok())
        return FieldError(field, status.message());
    }
    if (alertmanager.timeout_seconds() == 0)
      alertmanager.set_timeout_seconds(10);
    if (alertmanager.timeout_seconds() > 30)
      return FieldError("alertmanager.timeout_seconds", "may be at most 30");
  }
  if (config.has_pages()) {
    v1::IncidentPagesConfig& pages = *config.mutable_pages();
    if (!config.has_alert_intake())
      return FieldError("pages",
                        "shows the incidents the alert intake opens: set "
                        "alert_intake too");
    for (const auto& [field, value] :
         {std::pair{"pages.listen_address", &pages.listen_address()},
          {"pages.certificate", &pages.certificate()},
          {"pages.private_key", &pages.private_key()},
          {"pages.link_key_file", &pages.link_key_file()}}) {
      if (value->empty())
        return FieldError(field,
                          "is required (the pages serve HTTPS to "
                          "holders of a signed link)");
    }
    if (absl::Status url = CheckOutgoingUrl(pages.base_url());
        !url.ok() || !absl::StartsWith(pages.base_url(), "https://"))
      return FieldError("pages.base_url",
                        "must be the https:// address people reach the pages "
                        "at (https://opsctld.example.net:7445)");
    if (pages.link_hours() > 168)
      return FieldError("pages.link_hours", "may be at most 168 (7 days)");
    if (absl::Status status =
            CheckTrustedPath(pages.link_key_file(), TrustedKind::kSecretFile);
        !status.ok())
      return FieldError("pages.link_key_file", status.message());
    for (const std::string& peer : pages.allowed_peers()) {
      if (absl::StatusOr<AddressRange> range = AddressRange::Parse(peer);
          !range.ok())
        return FieldError("pages.allowed_peers", range.status().message());
    }
  }
  if (config.has_chat()) {
    const v1::ChatConfig& chat = config.chat();
    if (chat.slack_webhook_url_file().empty() &&
        chat.webhook_url_file().empty())
      return FieldError("chat",
                        "names no receiver: set slack_webhook_url_file, "
                        "webhook_url_file, or both");
    for (const auto& [field, path, kind] :
         {std::tuple{"chat.slack_webhook_url_file",
                     &chat.slack_webhook_url_file(), TrustedKind::kSecretFile},
          {"chat.webhook_url_file", &chat.webhook_url_file(),
           TrustedKind::kSecretFile},
          {"chat.ca_file", &chat.ca_file(), TrustedKind::kFile}}) {
      if (path->empty()) continue;
      if (absl::Status status = CheckTrustedPath(*path, kind); !status.ok())
        return FieldError(field, status.message());
    }
    if (chat.timeout_seconds() > 60)
      return FieldError("chat.timeout_seconds", "may be at most 60");
    if (chat.max_attempts() > 10)
      return FieldError("chat.max_attempts", "may be at most 10");
    if (!config.has_alert_intake())
      return FieldError("chat",
                        "tells of the incidents the alert intake opens: set "
                        "alert_intake too");
  }
  if (config.has_host_ca()) {
    v1::HostCaConfig& ca = *config.mutable_host_ca();
    for (const auto& [field, value] :
         {std::pair{"host_ca.certificate", &ca.certificate()},
          {"host_ca.private_key", &ca.private_key()},
          {"host_ca.enrollment_listen_address",
           &ca.enrollment_listen_address()},
          {"host_ca.crl_file", &ca.crl_file()}}) {
      if (value->empty())
        return FieldError(field,
                          "is required (docs/DEPLOY.md, \"The host CA\")");
    }
    if (ca.crl_file().front() != '/')
      return FieldError("host_ca.crl_file", "must be an absolute path");
    // The handshake checks links against the CRL only if it is where the
    // controller reads CRLs (which then requires one for every CA).
    if (!config.tls().crl_directory().empty() &&
        DirectoryOf(ca.crl_file()) !=
            absl::StripSuffix(config.tls().crl_directory(), "/"))
      return FieldError("host_ca.crl_file",
                        absl::StrCat("must be in tls.crl_directory (",
                                     config.tls().crl_directory(),
                                     "): with a CRL directory, every CA of "
                                     "the bundle needs its CRL there"));
    if (ca.certificate_hours() == 0) ca.set_certificate_hours(168);
    if (ca.certificate_hours() > 2160)
      return FieldError("host_ca.certificate_hours",
                        "may be at most 2160 (90 days)");
    if (ca.crl_hours() == 0) ca.set_crl_hours(48);
    if (ca.crl_hours() > 720)
      return FieldError("host_ca.crl_hours", "may be at most 720 (30 days)");
  }
  if (config.heartbeat_seconds() == 0) config.set_heartbeat_seconds(10);
  if (config.heartbeat_seconds() > 300)
    return FieldError("heartbeat_seconds", "may be at most 300");
  if (config.max_agents() == 0) config.set_max_agents(10000);
  if (config.max_concurrency() == 0) config.set_max_concurrency(1000);
  if (config.max_unverified_connections() == 0)
    config.set_max_unverified_connections(1024);
  if (config.max_unverified_connections() > 65536)
    return FieldError("max_unverified_connections", "may be at most 65536");
  // Past these a budget means nothing, and its numbers would overflow.
  constexpr uint64_t kMaxBudgetBytes = uint64_t{1} << 50;  // 1 PiB
  for (const auto& [field, value] :
       {std::pair{"audit_write_budget.burst_bytes",
                  config.audit_write_budget().burst_bytes()},
        {"audit_write_budget.bytes_per_second",
         config.audit_write_budget().bytes_per_second()},
        {"audit_write_budget.change_reserve_bytes",
         config.audit_write_budget().change_reserve_bytes()}}) {
    if (value > kMaxBudgetBytes)
      return FieldError(field, "may be at most 1 PiB (1125899906842624)");
  }
  if (config.max_unverified_connections_per_address() == 0)
    config.set_max_unverified_connections_per_address(8);
  if (config.max_unverified_connections_per_address() >
      config.max_unverified_connections())
    return FieldError("max_unverified_connections_per_address",
                      "may not exceed max_unverified_connections");
  if (absl::StatusOr<std::vector<AddressRange>> networks =
          VouchedNetworks(config);
      !networks.ok())
    return FieldError("vouched_networks", networks.status().message());
  return config;
}

absl::StatusOr<std::vector<AddressRange>> VouchedNetworks(
    const v1::OpsctldConfig& config) {
  std::vector<AddressRange> networks;
  for (const std::string& text : config.vouched_networks()) {
    absl::StatusOr<AddressRange> network = AddressRange::Parse(text);
    if (!network.ok()) return network.status();
    const int narrowest_allowed = network->family() == AF_INET ? 8 : 32;
    if (network->prefix_length() < narrowest_allowed)
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", text, "\" is wider than a /", narrowest_allowed,
          ": it would vouch for strangers by the million; list the networks "
          "the fleet and the operators connect from"));
    networks.push_back(*std::move(network));
  }
  return networks;
}

absl::StatusOr<v1::OpsctldConfig> LoadOpsctldConfig(const std::string& path) {
  if (absl::Status status = CheckTrustedPath(path, TrustedKind::kFile);
      !status.ok())
    return status;
  v1::OpsctldConfig config;
  if (absl::Status status = LoadTextProtoFile(path, &config); !status.ok())
    return status;
  absl::StatusOr<v1::OpsctldConfig> compiled =
      CompileOpsctldConfig(std::move(config));
  if (!compiled.ok()) {
    return absl::Status(compiled.status().code(),
                        absl::StrCat(path, ": ", compiled.status().message()));
  }
  return compiled;
}

}  // namespace opsagent
