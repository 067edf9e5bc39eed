#include "agent/server/agent_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/ops/command_template.h"
#include "agent/ops/registry.h"
#include "common/text_proto_file.h"
#include "common/tls/credentials.h"

namespace opsagent {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("config field ", field, ": ", problem));
}

absl::Status CheckListenAddress(const std::string& address) {
  if (address.empty())
    return FieldError("listen_address", "is required (e.g. \"0.0.0.0:9443\")");
  size_t colon = address.rfind(':');
  int port;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return FieldError("listen_address",
                      absl::StrCat("\"", address, "\" is not HOST:PORT"));
  }
  return absl::OkStatus();
}

absl::Status CheckRoot(int index, const std::string& root) {
  const std::string field = absl::StrCat("inspection_roots[", index, "]");
  if (root.empty() || root.front() != '/')
    return FieldError(field, absl::StrCat("\"", root, "\" is not absolute"));
  if (root != "/" &&
      (absl::EndsWith(root, "/") || absl::StrContains(root, "//"))) {
    return FieldError(field, absl::StrCat("\"", root, "\" is not normalized"));
  }
  for (absl::string_view part : absl::StrSplit(root, '/', absl::SkipEmpty())) {
    if (part == "." || part == "..")
      return FieldError(field, absl::StrCat("\"", root, "\" contains ", part));
  }
  char resolved[PATH_MAX];
  if (realpath(root.c_str(), resolved) == nullptr) {
    return FieldError(field, absl::StrCat(root, " does not exist"));
  }
  if (root != resolved) {
    return FieldError(
        field, absl::StrCat(root, " passes through a symlink (it is ", resolved,
                            "); configure the real path"));
  }
  struct stat st;
  if (stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return FieldError(field, absl::StrCat(root, " is not a directory"));
  }
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
      for (const OperationSpec* spec : AllOperations())
        absl::StrAppend(&known, known.empty() ? "" : ", ", spec->name);
      return FieldError(field, absl::StrCat("unknown operation \"", op,
                                            "\" (known: ", known, ", *)"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLogPattern(int index, const std::string& pattern) {
  const std::string field = absl::StrCat("truncatable_logs[", index, "]");
  const size_t slash = pattern.rfind('/');
  if (pattern.empty() || pattern.front() != '/' || slash == std::string::npos ||
      slash + 1 == pattern.size()) {
    return FieldError(
        field,
        absl::StrCat("\"", pattern, "\" is not an absolute DIR/GLOB pattern"));
  }
  const std::string dir = slash == 0 ? "/" : pattern.substr(0, slash);
  if (dir.find_first_of("*?[") != std::string::npos) {
    return FieldError(
        field, absl::StrCat("\"", pattern,
                            "\": wildcards are allowed in the file name only"));
  }
  if (absl::Status status = CheckRoot(index, dir); !status.ok()) {
    return FieldError(
        field,
        absl::StrCat("directory ",
                     status.message().substr(status.message().find(": ") + 2)));
  }
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

absl::StatusOr<v1::AgentConfig> FinalizeAgentConfig(v1::AgentConfig config) {
  if (absl::Status status = CheckListenAddress(config.listen_address());
      !status.ok())
    return status;
  const v1::TlsConfig& tls = config.tls();
  if (tls.certificate().empty())
    return FieldError("tls.certificate", "is required");
  if (tls.private_key().empty())
    return FieldError("tls.private_key", "is required");
  if (tls.ca_certificate().empty())
    return FieldError("tls.ca_certificate", "is required");
  if (absl::Status status = CheckTlsFiles(
          {tls.certificate(), tls.private_key(), tls.ca_certificate()});
      !status.ok()) {
    return FieldError("tls", status.message());
  }
  if (!tls.crl_directory().empty()) {
    struct stat st;
    if (stat(tls.crl_directory().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return FieldError(
          "tls.crl_directory",
          absl::StrCat(tls.crl_directory(), " is not a directory"));
    }
  }
  if (config.tls().refresh_interval_seconds() == 0)
    config.mutable_tls()->set_refresh_interval_seconds(60);
  if (config.hostname().empty()) {
    char name[HOST_NAME_MAX + 1] = {};
    gethostname(name, sizeof(name) - 1);
    config.set_hostname(name);
  }
  if (!config.journal_path().empty() && config.journal_path().front() != '/')
    return FieldError("journal_path", absl::StrCat("\"", config.journal_path(),
                                                   "\" is not absolute"));
  for (int i = 0; i < config.inspection_roots_size(); ++i) {
    if (absl::Status status = CheckRoot(i, config.inspection_roots(i));
        !status.ok())
      return status;
  }
  if (config.authorization().empty()) {
    return FieldError("authorization", "no rules: every call would be denied");
  }
  for (int i = 0; i < config.authorization_size(); ++i) {
    if (absl::Status status = CheckRule(i, config.authorization(i));
        !status.ok())
      return status;
  }
  for (int i = 0; i < config.truncatable_logs_size(); ++i) {
    if (absl::Status status = CheckLogPattern(i, config.truncatable_logs(i));
        !status.ok())
      return status;
  }
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
  absl::flat_hash_set<std::string> commands;
  for (int i = 0; i < config.command_size(); ++i) {
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
  return config;
}

absl::StatusOr<v1::AgentConfig> LoadAgentConfig(const std::string& path) {
  v1::AgentConfig config;
  if (absl::Status status = LoadTextProtoFile(path, &config); !status.ok())
    return status;
  absl::StatusOr<v1::AgentConfig> finalized =
      FinalizeAgentConfig(std::move(config));
  if (!finalized.ok()) {
    return absl::Status(finalized.status().code(),
                        absl::StrCat(path, ": ", finalized.status().message()));
  }
  return finalized;
}

}  // namespace opsagent
