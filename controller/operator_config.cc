#include "controller/operator_config.h"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/text_proto_file.h"
#include "common/trusted_path.h"

namespace opsagent {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string Home() { return EnvOr("HOME", "/root"); }

constexpr char kSystemConfig[] = "/etc/opsctl/config.textproto";

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return absl::StrCat(base_dir, "/", path);
}

// `address` is HOST:PORT; an empty `*name` becomes HOST. `field` names it in
// the error ("controller", "more_controllers[0]").
absl::Status CheckControllerAddress(const std::string& path,
                                    const std::string& field,
                                    const std::string& address,
                                    std::string* name) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port <= 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", field, " \"", address,
                     "\" is not HOST:PORT (the controller's address, as "
                     "opsctld's listen_address gives it)"));
  }
  if (name->empty()) *name = address.substr(0, colon);
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckControllers(const std::string& path,
                              v1::OperatorConfig* config) {
  if (config->controller().empty()) {
    if (config->more_controllers().empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": more_controllers needs `controller`, the first controller to try "
        "(move the first of them there)"));
  }
  if (absl::Status first =
          CheckControllerAddress(path, "controller", config->controller(),
                                 config->mutable_controller_name());
      !first.ok())
    return first;
  std::set<std::string> seen = {config->controller()};
  for (int i = 0; i < config->more_controllers_size(); ++i) {
    v1::ControllerAddress& more = *config->mutable_more_controllers(i);
    const std::string field = absl::StrCat("more_controllers[", i, "]");
    if (more.address().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": ", field, " has no address (address: \"HOST:PORT\")"));
    }
    if (absl::Status checked =
            CheckControllerAddress(path, absl::StrCat(field, ".address"),
                                   more.address(), more.mutable_name());
        !checked.ok())
      return checked;
    if (!seen.insert(more.address()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", field, ".address \"", more.address(),
                       "\" is listed twice among the controllers; each "
                       "controller once, in the order to try them"));
    }
  }
  return absl::OkStatus();
}

std::string OperatorConfigPath(const std::string& flag_path) {
  if (!flag_path.empty()) return flag_path;
  std::string from_env = EnvOr("OPSCTL_CONFIG", "");
  if (!from_env.empty()) return from_env;
  const std::string own =
      absl::StrCat(EnvOr("XDG_CONFIG_HOME", Home() + "/.config"),
                   "/opsctl/config.textproto");
  // A host's shared one (a bastion's, set up by its administrator) when
  // the user has none of their own.
  if (access(own.c_str(), F_OK) != 0 && access(kSystemConfig, F_OK) == 0)
    return kSystemConfig;
  return own;
}

absl::StatusOr<v1::OperatorConfig> LoadOperatorConfig(
    const std::string& given_path) {
  std::string path = given_path;
  if (!path.empty() && path.front() != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) != nullptr)
      path = absl::StrCat(cwd, "/", path);
  }
  v1::OperatorConfig config;
  // It names the CA that decides which hosts are genuine: nobody else may be
  // able to change it.
  if (absl::Status status = CheckTrustedPath(path, TrustedKind::kFile);
      !status.ok() && !absl::IsNotFound(status)) {
    return status;
  }
  if (absl::Status status = LoadTextProtoFile(path, &config); !status.ok()) {
    if (absl::IsNotFound(status)) {
      return absl::NotFoundError(absl::StrCat(
          status.message(),
          "; opsctl needs an operator config (certificate, key, CA, "
          "controller or inventory): pass --config, set OPSCTL_CONFIG, or "
          "create ~/.config/opsctl/config.textproto (or, for every user of "
          "this host, ",
          kSystemConfig,
          ") from /usr/share/doc/opsctl/examples/opsctl.textproto "
          "(deploy/examples/ in the source)"));
    }
    return status;
  }
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, slash);
  for (auto [field, value] :
       {std::pair{"certificate", config.mutable_certificate()},
        {"private_key", config.mutable_private_key()},
        {"ca_certificate", config.mutable_ca_certificate()}}) {
    if (value->empty())
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", field, " is required"));
    *value = Resolve(dir, *value);
  }
  if (config.inventory().empty()) config.set_inventory("inventory.textproto");
  config.set_inventory(Resolve(dir, config.inventory()));
  if (config.audit_database().empty()) {
    config.set_audit_database(absl::StrCat(
        EnvOr("XDG_STATE_HOME", Home() + "/.local/state"), "/opsctl/audit.db"));
  }
  config.set_audit_database(Resolve(dir, config.audit_database()));
  if (config.timeout_seconds() == 0) config.set_timeout_seconds(30);
  if (absl::Status controllers = CheckControllers(path, &config);
      !controllers.ok())
    return controllers;
  if (config.runbooks().empty()) config.set_runbooks("runbooks");
  config.set_runbooks(Resolve(dir, config.runbooks()));
  if (config.runbook_cache().empty()) {
    const std::string& audit = config.audit_database();
    config.set_runbook_cache(absl::StrCat(audit.substr(0, audit.rfind('/') + 1),
                                          "runbooks.cache.textproto"));
  }
  config.set_runbook_cache(Resolve(dir, config.runbook_cache()));
  return config;
}

}  // namespace opsagent
