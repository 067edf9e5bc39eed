// opsagent: serves vetted host operations over mutual TLS.

#include <signal.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "agent/enroll/enrollment_client.h"
#include "agent/enroll/host_certificate_files.h"
#include "agent/server/agent_config.h"
#include "agent/server/agent_server.h"
#include "agent/server/liveness_probe.h"
#include "agent/server/watchdog.h"
#include "common/grpc_log.h"
#include "common/logging.h"
#include "common/operation_catalog.h"
#include "common/process_setup.h"
#include "common/trusted_path.h"
#include "common/version.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, config, "/etc/opsagent/agent.textproto",
          "Agent configuration file (Protobuf text format, schema "
          "proto/opsagent/v1/agent_config.proto).");
ABSL_FLAG(bool, check_config, false,
          "Validate the configuration, print the result and exit.");
ABSL_FLAG(bool, list_operations, false,
          "List the operations authorization rules may name, and exit.");
ABSL_FLAG(bool, enroll, false,
          "Enroll this host with the controller now (the configuration's "
          "enrollment section: its token file, the controller's enrollment "
          "address), even if it has a certificate, and exit.");
ABSL_FLAG(bool, verbose, false, "Log debug messages too.");

namespace {

constexpr int kExitConfig = 2;
constexpr int kExitServe = 3;

// An enrolling agent's key and certificate: enrolled now when `force` or
// when it has none it can use, then checked as any agent's.
absl::Status EnsureEnrolled(const opsagent::v1::AgentConfig& config,
                            bool force) {
  if (!config.has_enrollment()) return absl::OkStatus();
  std::optional<std::string> why =
      force ? std::optional<std::string>("asked to (--enroll)")
            : opsagent::WhyEnrollmentIsNeeded(config, absl::Now());
  if (why) {
    spdlog::info("enrolling with the controller at {}: {}",
                 config.enrollment().address(), *why);
    if (absl::Status enrolled =
            opsagent::EnrollHost(config, opsagent::kVersion);
        !enrolled.ok())
      return enrolled;
  }
  return opsagent::CheckAgentIdentityFiles(config);
}

int ListOperations() {
  for (const opsagent::OperationInfo* op : opsagent::AllOperations()) {
    std::printf("%-16s %-9s %s\n", op->name.c_str(),
                op->mutating ? "mutating" : "read-only", op->summary.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  opsagent::SetDaemonUsage(
      "opsagent", "agent/main.cc",
      "serves vetted host operations to opsctl over mutual TLS.\n\n"
      "Usage: opsagent [--config=FILE] [--check_config] [--list_operations]\n"
      "                [--enroll]\n"
      "\n"
      "Operations: memory, filesystems, disk usage under inspection_roots,\n"
      "processes holding deleted files, truncation of truncatable_logs,\n"
      "restart of restartable units and programs, and the configured vetted\n"
      "commands. Nothing else runs: no shell, deny by default, identities\n"
      "from verified client certificates only.\n\n"
      "With an `enrollment` section, the agent makes its own key and gets its\n"
      "certificate from the controller with a token when it has none (or it\n"
      "expired), and renews it over its link; --enroll does it now and\n"
      "exits.\n\n"
      "Normally started by systemd (opsagent.service, Type=notify with a\n"
      "watchdog). Check a configuration before reloading it:\n"
      "  opsagent --config /etc/opsagent/agent.textproto --check_config\n\n"
      "Exit codes: 0 stopped cleanly, 2 configuration refused (the message\n"
      "names the field), 3 could not serve (address, certificates, journal)\n"
      "or stopped answering (the watchdog's probe failed three times).");
  if (opsagent::PrintDaemonHelpIfAsked(argc, argv)) return 0;
  absl::ParseCommandLine(argc, argv);
  opsagent::DisableMutexDeadlockDetection();
  opsagent::InitLogging("opsagent", absl::GetFlag(FLAGS_verbose));
  opsagent::ForwardGrpcLogs();
  if (absl::GetFlag(FLAGS_list_operations)) return ListOperations();

  const std::string config_path =
      opsagent::AbsoluteFromWorkingDirectory(absl::GetFlag(FLAGS_config));
  absl::StatusOr<opsagent::AgentEnvironment> loaded =
      opsagent::LoadAgentConfig(config_path);
  if (!loaded.ok()) {
    spdlog::error("refusing to start: {}", loaded.status().message());
    return kExitConfig;
  }
  if (absl::GetFlag(FLAGS_check_config)) {
    std::printf("%s: OK\n", config_path.c_str());
    return 0;
  }

  if (absl::Status enrolled =
          EnsureEnrolled(loaded->config, absl::GetFlag(FLAGS_enroll));
      !enrolled.ok()) {
    spdlog::error("refusing to start: {}", enrolled.message());
    return kExitServe;
  }
  if (absl::GetFlag(FLAGS_enroll)) return 0;

  // Termination signals are taken synchronously below, so block them before
  // gRPC starts its threads.
  sigset_t signals = opsagent::BlockTerminationSignals();

  opsagent::AgentEnvironment agent = *std::move(loaded);
  agent.started_at = absl::Now();
  agent.version = opsagent::kVersion;
  absl::StatusOr<std::unique_ptr<opsagent::AgentServer>> server =
      opsagent::AgentServer::Start(agent);
  if (!server.ok()) {
    spdlog::error("refusing to start: {}", server.status().message());
    return kExitServe;
  }
  std::unique_ptr<opsagent::LivenessProbe> probe;
  if ((*server)->port() != 0) {
    spdlog::info("opsagent {} serving {} as {} on port {} (mutual TLS)",
                 opsagent::kVersion, agent.config.listen_address(),
                 agent.config.hostname(), (*server)->port());
    absl::StatusOr<std::unique_ptr<opsagent::LivenessProbe>> created =
        opsagent::LivenessProbe::Create(agent.config.listen_address(),
                                        (*server)->port(),
                                        (*server)->tls_files());
    if (!created.ok()) {
      spdlog::error("refusing to start: {}", created.status().message());
      return kExitServe;
    }
    probe = *std::move(created);
  } else {
    spdlog::info("opsagent {} serving as {} over its controller link only",
                 opsagent::kVersion, agent.config.hostname());
  }
  // Under WatchdogSec=, systemd hears from the agent only after each proof
  // that it answers, at twice the required rate.
  opsagent::Watchdog::Options watchdog_options;
  watchdog_options.interval =
      absl::Seconds(agent.config.limits().liveness_probe_seconds());
  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0) {
    watchdog_options.interval = absl::Microseconds(watchdog_usec / 2);
    watchdog_options.notify_systemd = true;
  }
  sd_notify(0, "READY=1");
  // Alive means: the listener accepts and answers a new connection, and the
  // thread of every controller link keeps working (whether or not its
  // controller is up).
  const opsagent::AgentServer* running = server->get();
  opsagent::Watchdog watchdog(
      [&probe, running](absl::Duration timeout) {
        if (probe != nullptr) {
          if (absl::Status checked = probe->Check(timeout); !checked.ok())
            return checked;
        }
        return running->CheckLinksAlive(timeout);
      },
      watchdog_options,
      [](const absl::Status& status) {
        spdlog::error(
            "the agent no longer accepts and answers connections ({}); "
            "exiting so that it is restarted",
            status.message());
        std::_Exit(kExitServe);
      });

  const int signal_number = opsagent::WaitForTerminationSignal(signals);
  spdlog::info("received signal {}; stopping", signal_number);
  sd_notify(0, "STOPPING=1");
  (*server)->Shutdown(absl::Seconds(10));
  return 0;
}
