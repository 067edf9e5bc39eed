#include "tests/testing/test_controller.h"

#include <csignal>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "tests/testing/agent_process.h"

namespace opsagent::testing {

absl::StatusOr<std::unique_ptr<TestController>> TestController::Start(
    const Options& options) {
  std::unique_ptr<TestController> controller(new TestController());
  controller->dir_ = options.dir;
  controller->name_ = options.name;
  CertificateSpec spec{
      options.name, {"controller"}, {options.name}, {"127.0.0.1"}};
  spec.extended_key_usage = "serverAuth";
  absl::StatusOr<CertificateFiles> cert = options.ca->Issue(
      options.name == "opsctld.test" ? "controller" : options.name, spec);
  if (!cert.ok()) return cert.status();
  controller->certificate_ = *cert;
  controller->audit_path_ = options.audit_database.empty()
                                ? options.dir + "/team-audit.db"
                                : options.audit_database;
  controller->config_text_ = absl::StrCat(
      "listen_address: \"127.0.0.1:PORT\"\n", "tls { certificate: \"",
      cert->certificate, "\" private_key: \"", cert->private_key,
      "\" ca_certificate: \"", options.ca->certificate_path(), "\" }\n",
      "audit_database: \"", controller->audit_path_, "\"\n",
      "heartbeat_seconds: ", options.heartbeat_seconds, "\n",
      "access { roles: \"oncall\" permissions: \"*\" }\n",
      options.extra_config);
  if (absl::Status launched = controller->Launch(); !launched.ok())
    return launched;
  return controller;
}

TestController::~TestController() { Kill(); }

absl::Status TestController::Launch() {
  const std::string config = dir_ + "/opsctld.textproto";
  const std::string log = dir_ + "/opsctld.log";
  WriteFileOrDie(
      config,
      absl::StrReplaceAll(
          config_text_, {{"127.0.0.1:PORT", absl::StrCat("127.0.0.1:", port_)},
                         {"CONTROLLER_CERT", certificate_.certificate},
                         {"CONTROLLER_KEY", certificate_.private_key}}));
  WriteFileOrDie(log, "");
  absl::StatusOr<Subprocess> process = Subprocess::Start(
      {{BinaryPath("controller/opsctld/opsctld"), "--config", config},
       std::nullopt,
       "",
       log});
  if (!process.ok()) return process.status();
  process_ = std::make_unique<Subprocess>(*std::move(process));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    const std::string text = Log();
    if (size_t at = text.find(" on port "); at != std::string::npos) {
      absl::string_view rest = absl::string_view(text).substr(at + 9);
      rest = rest.substr(0, rest.find(' '));
      if (!absl::SimpleAtoi(rest, &port_))
        return absl::InternalError("opsctld logged no port");
      return absl::OkStatus();
    }
    if (process_->Wait(absl::ZeroDuration()).ok())
      return absl::FailedPreconditionError(
          absl::StrCat("opsctld exited:\n", text));
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("opsctld did not start:\n", Log()));
}

std::string TestController::AgentConfig(absl::string_view field) const {
  return absl::StrCat(field, " { address: \"127.0.0.1:", port_, "\" name: \"",
                      name_, "\" max_backoff_seconds: 2 }\n");
}

std::string TestController::OpsctlConfig() const {
  return absl::StrCat("controller: \"127.0.0.1:", port_,
                      "\"\ncontroller_name: \"", name_, "\"\n");
}

void TestController::Kill() {
  if (process_ == nullptr) return;
  process_->Signal(SIGKILL);
  process_->Wait(absl::Seconds(10)).IgnoreError();
  process_.reset();
}

absl::Status TestController::Restart() {
  Kill();
  return Launch();
}

absl::StatusOr<int> TestController::LoggedPort(absl::string_view marker) const {
  std::optional<int> port;
  if (!Eventually([&] {
        port = testing::LoggedPort(Log(), marker);
        return port.has_value();
      }))
    return absl::DeadlineExceededError(
        absl::StrCat("opsctld logged no \"", marker, "\" port:\n", Log()));
  return *port;
}

std::string TestController::Log() const {
  return ReadFileOrDie(dir_ + "/opsctld.log");
}

}  // namespace opsagent::testing
