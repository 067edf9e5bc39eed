#include "tests/testing/systemd_agent.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/testing/agent_process.h"

namespace opsagent::testing {

absl::StatusOr<std::unique_ptr<SystemdAgent>> SystemdAgent::Start(
    const Options& options) {
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(
        "needs root: systemd runs as PID 1 of a private namespace");
  }
  std::unique_ptr<SystemdAgent> agent(new SystemdAgent());
  agent->dir_ = AbsolutePath(options.dir);
  const std::string& dir = agent->dir_;
  const std::string units = dir + "/units";
  mkdir(units.c_str(), 0755);
  absl::StatusOr<std::unique_ptr<TestCertificateAuthority>> ca =
      TestCertificateAuthority::Create(dir, "main");
  if (!ca.ok()) return ca.status();
  agent->ca_ = *std::move(ca);
  CertificateSpec agent_spec{"localhost", {}, {"localhost"}, {"127.0.0.1"}};
  agent_spec.server = true;
  absl::StatusOr<CertificateFiles> certificate =
      agent->ca_->Issue("agent", agent_spec);
  if (!certificate.ok()) return certificate.status();
  absl::StatusOr<CertificateFiles> oncall =
      agent->ca_->Issue("oncall", {"alice", {"oncall"}});
  if (!oncall.ok()) return oncall.status();
  agent->oncall_files_ = *oncall;
  // Fixed, not port 0: systemd may restart the agent, and opsctl must find
  // it again at the same address.
  agent->port_ = PickFreePort();

  // journald too, as on a real host: units' output goes to the journal,
  // where the agent reads it (service_status, a failed restart).
  std::vector<std::string> wanted = {"systemd-journald.socket",
                                     "systemd-journald.service",
                                     "opsagent.service"};
  for (const auto& [name, text] : options.units) {
    WriteFileOrDie(units + "/" + name, text);
    wanted.push_back(name);
  }
  WriteFileOrDie(units + "/test.target",
                 absl::StrCat("[Unit]\nDefaultDependencies=no\nWants=",
                              absl::StrJoin(wanted, " "), "\n"));
  // The unit that ships, with only its paths changed.
  std::string unit = ReadFileOrDie("deploy/systemd/opsagent.service");
  unit = absl::StrReplaceAll(
      unit, {{"/usr/sbin/opsagent", AbsolutePath("agent/opsagent")},
             {"/etc/opsagent/agent.textproto", dir + "/agent.textproto"},
             {"After=network-online.target\nWants=network-online.target\n",
              "DefaultDependencies=no\n"}});
  if (unit.find("CapabilityBoundingSet=") == std::string::npos) {
    return absl::InternalError(
        "deploy/systemd/opsagent.service is not the "
        "hardened unit");
  }
  unit = absl::StrReplaceAll(
      unit, {{"[Install]",
              absl::StrCat("StandardError=append:", dir, "/agent.log\n",
                           // In the ASan+UBSan pass: LeakSanitizer cannot stop
                           // threads under the unit's system call filter;
                           // memory errors are still caught.
                           "Environment=ASAN_OPTIONS=detect_leaks=0\n",
                           options.unit_overrides, "\n[Install]")}});
  WriteFileOrDie(units + "/opsagent.service", unit);
  WriteFileOrDie(
      dir + "/agent.textproto",
      absl::StrCat("listen_address: \"127.0.0.1:", agent->port_, "\"\n",
                   "tls { certificate: \"", certificate->certificate,
                   "\" private_key: \"", certificate->private_key,
                   "\" ca_certificate: \"", agent->ca_->certificate_path(),
                   "\" }\nhostname: \"localhost\"\n",
                   "authorization { roles: \"oncall\" operations: \"*\" }\n",
                   options.agent_config));
  absl::StatusOr<Subprocess> launcher = Subprocess::Start(
      {{"tests/testing/systemd_namespace", units, "test.target"},
       std::nullopt,
       dir + "/init.pid",
       dir + "/systemd.log"});
  if (!launcher.ok()) return launcher.status();
  agent->launcher_ = std::make_unique<Subprocess>(*std::move(launcher));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (agent->init_pid_ == 0 && absl::Now() < deadline) {
    absl::SimpleAtoi(
        absl::StripAsciiWhitespace(ReadFileOrDie(dir + "/init.pid")),
        &agent->init_pid_);
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (agent->init_pid_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "systemd did not start:\n", ReadFileOrDie(dir + "/systemd.log")));
  }
  agent->oncall_ = std::make_unique<OpsctlRunner>(
      dir, "alice", oncall->certificate, oncall->private_key,
      agent->ca_->certificate_path(), "localhost", agent->port_);
  while (absl::Now() < deadline &&
         agent->oncall_->Run({"info", "localhost"}).exit_code != 0) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  if (agent->oncall_->Run({"info", "localhost"}).exit_code != 0) {
    return absl::UnavailableError(
        absl::StrCat("the agent did not serve:\n",
                     ReadFileOrDie(dir + "/systemd.log"), agent->AgentLog()));
  }
  return agent;
}

SystemdAgent::~SystemdAgent() {
  if (init_pid_ > 0) kill(init_pid_, SIGKILL);  // ends everything inside
}

absl::StatusOr<ProgramResult> SystemdAgent::RunInside(
    const std::vector<std::string>& argv) const {
  std::vector<std::string> command = {"/usr/bin/nsenter", "-t",
                                      std::to_string(init_pid_), "-m", "-p"};
  command.insert(command.end(), argv.begin(), argv.end());
  return RunProgram(command, absl::Seconds(30));
}

std::string SystemdAgent::Show(const std::string& unit,
                               const std::string& property) const {
  absl::StatusOr<ProgramResult> r =
      RunInside({"/bin/systemctl", "show", "-p", property, "--value", unit});
  return r.ok() ? std::string(absl::StripAsciiWhitespace(r->stdout_text)) : "";
}

std::string SystemdAgent::AgentLog() const {
  return ReadFileOrDie(dir_ + "/agent.log");
}

}  // namespace opsagent::testing
