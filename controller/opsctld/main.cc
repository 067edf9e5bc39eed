// opsctld: the team's controller. Agents dial in and hold a link; operators'
// opsctl run operations through it over those links; every action lands in
// one audit log.

#include <signal.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/algorithm/container.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/connection_guard.h"
#include "common/descriptor_limit.h"
#include "common/grpc_log.h"
#include "common/link_limits.h"
#include "common/listen_address.h"
#include "common/logging.h"
#include "common/metrics/certificate_expiry.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/process_setup.h"
#include "common/tls/certificate_info.h"
#include "common/tls/credentials.h"
#include "common/tls/peer_identity.h"
#include "common/tls/server_trust.h"
#include "common/trusted_path.h"
#include "common/version.h"
#include "controller/alerts/alert_intake.h"
#include "controller/alerts/auto_diagnosis.h"
#include "controller/alerts/incident_store.h"
#include "controller/audit/audit_log_file.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/write_budget.h"
#include "controller/commands/captured_command.h"
#include "controller/commands/command.h"
#include "controller/enroll/host_ca.h"
#include "controller/inventory.h"
#include "controller/operator_config.h"
#include "controller/opsctld/audit_log_parts.h"
#include "controller/opsctld/enrollment_parts.h"
#include "controller/opsctld/incident_parts.h"
#include "controller/server/agent_link_service.h"
#include "controller/server/agent_registry.h"
#include "controller/server/audit_checkpointer.h"
#include "controller/server/controller_service.h"
#include "controller/server/link_channel_args.h"
#include "controller/server/live_inventory.h"
#include "controller/server/opsctld_config.h"
#include "controller/server/relay_run.h"
#include "controller/server/rpc_permission.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, config, "/etc/opsctld/opsctld.textproto",
          "Controller configuration file (Protobuf text format, schema "
          "proto/opsagent/v1/opsctld_config.proto).");
ABSL_FLAG(bool, check_config, false,
          "Validate the configuration, print the result and exit.");
ABSL_FLAG(bool, verbose, false, "Log debug messages too.");
ABSL_FLAG(std::string, migrate_audit_from, "",
          "Copy this SQLite team log into the configuration's (empty) "
          "PostgreSQL log, verify the copy, and exit (opsctld stopped).");

namespace {

constexpr int kExitConfig = 2;
constexpr int kExitServe = 3;
// Results of relayed calls (a du listing, a command's output tail) can be
// large, and so can a run's signed requests (about 350 bytes a host: 16 MiB
// is over 40,000 hosts); this still bounds what a peer can make it buffer.
constexpr int kMaxReceiveBytes =
    static_cast<int>(opsagent::kMaxControllerReceiveBytes);  // 16 MiB
constexpr int kHandshakeTimeoutMs = 10000;

int Refuse(int code, absl::string_view why) {
  spdlog::error("refusing to start: {}", why);
  return code;
}

// The automation's opsctl configuration loads, names a controller (a
// diagnosis run over --direct would be audited in a log of its own), its
// TLS files are there and trusted (a key others can read is refused, as
// opsctl would at every run), and its certificate carries the automation
// role: with another identity's, the diagnosis would run with that
// identity's powers and no agent or controller would hold it to reads.
// PERMISSION_DENIED for the last, which opsctld refuses to start with.
absl::Status CheckAutomationConfig(const std::string& path) {
  const std::string field =
      "config field alert_intake.automation.opsctl_config";
  absl::StatusOr<opsagent::v1::OperatorConfig> automation =
      opsagent::LoadOperatorConfig(path);
  if (!automation.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", automation.status().message()));
  if (automation->controller().empty())
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", path,
        " names no controller: the diagnosis goes through this controller "
        "and is recorded in the team's log; give it `controller:`"));
  opsagent::TlsFiles files;
  files.certificate = automation->certificate();
  files.private_key = automation->private_key();
  files.ca_certificate = automation->ca_certificate();
  if (absl::Status tls = opsagent::CheckTlsFiles(files); !tls.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", path, ": ", tls.message()));
  absl::StatusOr<opsagent::CertificateInfo> certificate =
      opsagent::ReadCertificateFile(files.certificate);
  if (!certificate.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", certificate.status().message()));
  if (!absl::c_linear_search(certificate->organizational_units,
                             opsagent::kAutomationRole))
    return absl::PermissionDeniedError(absl::StrCat(
        field, ": ", files.certificate, " (", certificate->common_name,
        ") does not carry the role \"automation\": the diagnosis would run "
        "with this identity's powers instead of the read-only automation's"));
  return absl::OkStatus();
}

// An incident's automatic diagnosis: opsctl's `runbook run` in this
// process, as the automation identity of its configuration.
opsagent::v1::IncidentDiagnosis RunDiagnosis(
    const std::vector<std::string>& args, absl::Duration timeout) {
  constexpr size_t kMaxOutputBytes = 256 << 10;
  opsagent::CapturedCommand ran =
      opsagent::RunCapturedCommand(args, timeout, kMaxOutputBytes);
  opsagent::v1::IncidentDiagnosis diagnosis;
  diagnosis.set_exit_code(ran.exit_code);
  diagnosis.set_output(absl::StrCat(
      ran.output, ran.output_truncated ? "\n[output cut at 256 KiB]\n" : ""));
  diagnosis.set_run_id(ran.run_id);
  return diagnosis;
}

}  // namespace

int main(int argc, char** argv) {
  opsagent::SetDaemonUsage(
      "opsctld", "controller/opsctld/main.cc",
      "the team's opsagent controller: agents dial in, opsctl runs through "
      "it.\n\n"
      "Usage: opsctld [--config=FILE] [--check_config]\n\n"
      "Agents (configured with `controller { address name }`) hold one mutual\n"
      "TLS link each; operators' opsctl (configured with `controller:`) run\n"
      "operations on one host or many over those links, and every action is\n"
      "recorded in one SQLite audit log before and after it runs. The\n"
      "controller relays; each agent authorizes the operator itself.\n\n"
      "Normally started by systemd (opsctld.service). Check a configuration:\n"
      "  opsctld --config /etc/opsctld/opsctld.textproto --check_config\n\n"
      "Exit codes: 0 stopped cleanly, 2 configuration refused (the message\n"
      "names the field), 3 could not serve (address, certificates, audit "
      "log).");
  if (opsagent::PrintDaemonHelpIfAsked(argc, argv)) return 0;
  absl::ParseCommandLine(argc, argv);
  opsagent::DisableMutexDeadlockDetection();
  opsagent::InitLogging("opsctld", absl::GetFlag(FLAGS_verbose));
  opsagent::ForwardGrpcLogs();
  if (absl::Status declared = opsagent::CheckDeclaredPermissions();
      !declared.ok())
    return Refuse(kExitServe, declared.message());
  // The automatic diagnosis runs opsctl's commands in this process.
  if (absl::Status declared =
          opsagent::CheckCommandsAgainstDeclarations(opsagent::AllCommands());
      !declared.ok())
    return Refuse(kExitServe, declared.message());

  const std::string path =
      opsagent::AbsoluteFromWorkingDirectory(absl::GetFlag(FLAGS_config));
  absl::StatusOr<opsagent::v1::OpsctldConfig> config =
      opsagent::LoadOpsctldConfig(path);
  if (!config.ok()) return Refuse(kExitConfig, config.status().message());
  opsagent::Inventory inventory = *opsagent::Inventory::FromProto({}, "none");
  if (!config->inventory().empty()) {
    absl::StatusOr<opsagent::Inventory> loaded =
        opsagent::Inventory::Load(config->inventory());
    if (!loaded.ok())
      return Refuse(kExitConfig, absl::StrCat("config field inventory: ",
                                              loaded.status().message()));
    inventory = *std::move(loaded);
  }
  std::optional<opsagent::RunbookLibrary> runbooks;
  if (config->has_alert_intake()) {
    absl::StatusOr<opsagent::RunbookLibrary> loaded =
        opsagent::LoadRunbooks(config->alert_intake().runbooks());
    if (!loaded.ok())
      return Refuse(kExitConfig, absl::StrCat("config field alert_intake."
                                              "runbooks: ",
                                              loaded.status().message()));
    runbooks = *std::move(loaded);
  }
  if (const std::string from = absl::GetFlag(FLAGS_migrate_audit_from);
      !from.empty()) {
    absl::StatusOr<std::string> migrated =
        opsagent::MigrateAuditLog(*config, from);
    if (!migrated.ok()) return Refuse(kExitServe, migrated.status().message());
    std::printf("%s\n", migrated->c_str());
    return 0;
  }
  if (absl::GetFlag(FLAGS_check_config)) {
    if (config->has_postgresql()) {
      absl::StatusOr<std::string> conninfo =
          opsagent::ReadPostgresConnInfo(config->postgresql());
      if (!conninfo.ok())
        return Refuse(kExitConfig, conninfo.status().message());
    }
    // Every file opsctld writes, checked as its start will.
    if (absl::Status log =
            opsagent::CheckAuditLogLocation(config->audit_database());
        !log.ok())
      return Refuse(kExitConfig, absl::StrCat("config field audit_database: ",
                                              log.message()));
    const std::string& exported = config->audit_checkpoints().export_file();
    if (!exported.empty()) {
      if (absl::Status written = opsagent::CheckWrittenFile(exported);
          !written.ok())
        return Refuse(
            kExitConfig,
            absl::StrCat("config field audit_checkpoints.export_file: ",
                         written.message()));
    }
    if (config->has_audit_checkpoints()) {
      absl::StatusOr<std::unique_ptr<opsagent::CheckpointSigner>> key =
          opsagent::CheckpointSigner::FromKeyFile(
              config->audit_checkpoints().key_file());
      if (!key.ok())
        return Refuse(kExitConfig, absl::StrCat("config field "
                                                "audit_checkpoints.key_file: ",
                                                key.status().message()));
    }
    if (config->has_host_ca()) {
      absl::StatusOr<std::unique_ptr<opsagent::HostCa>> ca =
          opsagent::HostCa::Load(config->host_ca().certificate(),
                                 config->host_ca().private_key());
      if (!ca.ok())
        return Refuse(kExitConfig, absl::StrCat("config field host_ca: ",
                                                ca.status().message()));
      if (absl::Status written =
              opsagent::CheckWrittenFile(config->host_ca().crl_file());
          !written.ok())
        return Refuse(
            kExitConfig,
            absl::StrCat("config field host_ca.crl_file: ", written.message()));
    }
    if (config->has_alert_intake()) {
      auto senders = opsagent::AlertIntake::ReadSenders(config->alert_intake());
      if (!senders.ok()) return Refuse(kExitConfig, senders.status().message());
    }
    // What the diagnosis will read: the automation's opsctl configuration,
    // through this controller only.
    if (config->alert_intake().has_automation()) {
      if (absl::Status automation = CheckAutomationConfig(
              config->alert_intake().automation().opsctl_config());
          !automation.ok())
        return Refuse(kExitConfig, automation.message());
    }
    std::printf("%s: OK\n", path.c_str());
    return 0;
  }

  sigset_t signals = opsagent::BlockTerminationSignals();

  // One descriptor per agent link, room for operators and the log, and for
  // connections not vouched for yet.
  absl::StatusOr<uint64_t> descriptors = opsagent::RaiseDescriptorLimit(
      uint64_t{config->max_agents()} + 512 +
          config->max_unverified_connections(),
      "max_agents (opsctld.service sets LimitNOFILE=65536)");
  if (!descriptors.ok())
    return Refuse(kExitServe, descriptors.status().message());
  absl::StatusOr<opsagent::AuditLogParts> audit_log =
      opsagent::OpenAuditLog(*config);
  if (!audit_log.ok()) return Refuse(kExitServe, audit_log.status().message());
  opsagent::AuditStore* const audit = audit_log->writer.get();
  opsagent::AuditStore* const reader = audit_log->read();
  std::unique_ptr<opsagent::AuditCheckpointer> checkpoints;
  if (config->has_audit_checkpoints()) {
    absl::StatusOr<std::unique_ptr<opsagent::AuditCheckpointer>> started =
        opsagent::AuditCheckpointer::Start(config->audit_checkpoints(), audit);
    if (!started.ok()) return Refuse(kExitServe, started.status().message());
    checkpoints = *std::move(started);
  } else {
    spdlog::warn(
        "audit checkpoints are off (no audit_checkpoints in the "
        "configuration): rows cut off the end of the audit log are detected "
        "only against a head kept elsewhere");
  }
  // After the log was checked against its checkpoints. Nothing is relayed
  // yet: a pending row is a call a killed controller left behind, which no
  // one would ever complete.
  absl::StatusOr<int64_t> settled = audit->SettleInterrupted(absl::Now());
  if (!settled.ok()) return Refuse(kExitServe, settled.status().message());
  if (*settled > 0)
    spdlog::warn(
        "audit: {} call(s) a stopped controller left without an outcome are "
        "now recorded unknown; `opsctl audit reconcile` compares them with "
        "each host's journal",
        *settled);
  const opsagent::v1::TlsConfig& tls = config->tls();
  absl::StatusOr<std::unique_ptr<opsagent::ServerTrust>> trust =
      opsagent::ServerTrust::Create(
          {tls.certificate(), tls.private_key(), tls.ca_certificate(),
           static_cast<int>(tls.refresh_interval_seconds()),
           tls.crl_directory()});
  if (!trust.ok()) return Refuse(kExitServe, trust.status().message());
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      opsagent::MakeServerCredentials(**trust);
  if (!credentials.ok())
    return Refuse(kExitServe, credentials.status().message());

  std::unique_ptr<opsagent::IncidentStore> incidents;
  if (config->has_alert_intake()) {
    absl::StatusOr<std::unique_ptr<opsagent::IncidentStore>> opened =
        opsagent::IncidentStore::Open(config->audit_database());
    if (!opened.ok()) return Refuse(kExitServe, opened.status().message());
    incidents = *std::move(opened);
  }

  const absl::Duration heartbeat = absl::Seconds(config->heartbeat_seconds());
  auto registry = std::make_unique<opsagent::AgentRegistry>(
      static_cast<int>(config->max_agents()), heartbeat);
  opsagent::MetricRegistry metrics;
  opsagent::RelayMetrics relay_metrics(metrics);
  opsagent::WriteBudget write_budget(config->audit_write_budget(), metrics);
  opsagent::AddCertificateExpiryGauge(
      metrics, "opsagent_controller_certificate_expiry_timestamp_seconds",
      config->tls().certificate());
  metrics.AddGauge("opsagent_controller_connected_agents",
                   "Agents holding a link to this controller now.",
                   [&registry] { return registry->All().size(); });
  absl::StatusOr<std::unique_ptr<opsagent::EnrollmentParts>> enrollment =
      opsagent::MakeEnrollmentParts(*config, audit, trust->get(),
                                    registry.get(), metrics);
  if (!enrollment.ok())
    return Refuse(kExitServe, enrollment.status().message());
  opsagent::HostEnrollment* const host_enrollment =
      *enrollment ? (*enrollment)->enrollment.get() : nullptr;
  opsagent::AgentLinkService links(registry.get(), heartbeat, host_enrollment);
  absl::StatusOr<std::unique_ptr<opsagent::IncidentParts>> incident_parts =
      opsagent::MakeIncidentParts(*config, incidents.get(), reader, metrics);
  if (!incident_parts.ok())
    return Refuse(kExitServe, incident_parts.status().message());
  opsagent::IncidentEvents* const chat = (*incident_parts)->chat.get();
  // Operators read the runbooks from here, as they are on this controller's
  // disk now (the alert intake matches with the copy loaded at start).
  opsagent::ControllerService::RunbookReader runbook_reader;
  if (config->has_alert_intake()) {
    runbook_reader = [directory = config->alert_intake().runbooks()]()
        -> absl::StatusOr<opsagent::v1::Runbook> {
      absl::StatusOr<opsagent::RunbookLibrary> library =
          opsagent::LoadRunbooks(directory);
      if (!library.ok()) return library.status();
      opsagent::v1::Runbook runbook;
      for (const opsagent::v1::RunbookEntry& entry : library->entries())
        *runbook.add_entry() = entry;
      return runbook;
    };
  }
  opsagent::ControllerService operators(
      *config, registry.get(), std::move(inventory), audit, reader,
      checkpoints.get(), (*incident_parts)->services, &relay_metrics,
      &write_budget, std::move(runbook_reader), host_enrollment);
  std::unique_ptr<opsagent::AutoDiagnosis> diagnosis;
  std::unique_ptr<opsagent::AlertIntake> intake;
  if (config->has_alert_intake()) {
    if (config->alert_intake().has_automation()) {
      if (absl::Status automation = CheckAutomationConfig(
              config->alert_intake().automation().opsctl_config());
          absl::IsPermissionDenied(automation)) {
        return Refuse(kExitConfig, automation.message());
      } else if (!automation.ok()) {
        spdlog::warn("automatic diagnoses will fail until this is mended: {}",
                     automation.message());
      }
      diagnosis = std::make_unique<opsagent::AutoDiagnosis>(
          config->alert_intake().automation(), incidents.get(), chat,
          [&registry](const std::string& host) {
            return registry->Find(host) != nullptr;
          },
          &RunDiagnosis, metrics);
    }
    intake = std::make_unique<opsagent::AlertIntake>(
        *std::move(runbooks),
        [&registry, &operators] {
          return opsagent::LiveInventory(*registry, operators.inventory());
        },
        incidents.get(), diagnosis.get(), chat, &write_budget, metrics);
  }
  // gRPC 1.51 stops accepting for good when accept4 fails with EMFILE: a
  // flood of plain TCP connections would shut every new agent and operator
  // out with the process alive. The agent's guard sheds what is over the
  // limit instead (docs/SECURITY.md). Addresses that showed a trusted
  // certificate (agents behind one NAT share one) are bounded by the total
  // alone; the rest by a pool of their own and a share per address.
  opsagent::ConnectionLimits connection_limits;
  connection_limits.max_unvouched_connections =
      config->max_unverified_connections();
  connection_limits.max_connections =
      size_t{config->max_agents()} + 256 +
      connection_limits.max_unvouched_connections;
  connection_limits.max_connections_per_peer =
      config->max_unverified_connections_per_address();
  absl::StatusOr<std::vector<opsagent::AddressRange>> vouched_networks =
      opsagent::VouchedNetworks(*config);
  if (!vouched_networks.ok())
    return Refuse(kExitConfig, vouched_networks.status().message());
  connection_limits.vouched_networks = *std::move(vouched_networks);
  opsagent::ConfigureConnectionGuard(connection_limits);
  opsagent::WaitUntilBindable(config->listen_address(), absl::Seconds(60));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->listen_address(), *credentials, &port);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             kHandshakeTimeoutMs);
  // A second controller on the same port would split the fleet between two
  // audit logs: refuse to start instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  opsagent::AddLinkChannelArguments(builder);
  builder.RegisterService(&links);
  builder.RegisterService(&operators);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Refuse(kExitServe,
                  absl::StrCat("cannot listen on ", config->listen_address(),
                               " (address in use, or not an address of this "
                               "host?)"));
  }
  spdlog::info(
      "opsctld {} serving {} on port {} (mutual TLS); audit log {}; up to {} "
      "agents",
      opsagent::kVersion, config->listen_address(), port,
      config->audit_database(), config->max_agents());
  spdlog::info(
      "connections from addresses not vouched for: {} each, {} together; "
      "networks vouched for always: {}",
      config->max_unverified_connections_per_address(),
      config->max_unverified_connections(),
      config->vouched_networks().empty()
          ? "none"
          : absl::StrJoin(config->vouched_networks(), ", "));
  if (*enrollment != nullptr) {
    if (absl::Status serving =
            opsagent::ServeEnrollment(*config, **trust, **enrollment);
        !serving.ok())
      return Refuse(kExitServe, serving.message());
  }
  std::unique_ptr<opsagent::HttpListener> intake_listener;
  if (intake != nullptr) {
    absl::StatusOr<std::unique_ptr<opsagent::HttpListener>> serving =
        opsagent::AlertIntake::Serve(config->alert_intake(), intake.get());
    if (!serving.ok()) return Refuse(kExitServe, serving.status().message());
    intake_listener = *std::move(serving);
    spdlog::info(
        "alert intake: POST https://{}/v1/alerts (port {}); "
        "automatic diagnosis {}",
        config->alert_intake().listen_address(), intake_listener->port(),
        diagnosis ? "on" : "off");
    if (diagnosis != nullptr) {
      if (absl::Status resumed = diagnosis->Resume(); !resumed.ok())
        spdlog::error("alert intake: {}", std::string(resumed.message()));
    }
  }
  absl::StatusOr<std::unique_ptr<opsagent::HttpListener>> pages_listener =
      opsagent::ServePages(*config, **incident_parts, reader);
  if (!pages_listener.ok())
    return Refuse(kExitServe, pages_listener.status().message());
  std::unique_ptr<opsagent::HttpListener> metrics_listener;
  if (!config->metrics_listen_address().empty()) {
    absl::StatusOr<std::unique_ptr<opsagent::HttpListener>> serving =
        opsagent::ServeMetrics(config->metrics_listen_address(), metrics);
    if (!serving.ok()) return Refuse(kExitServe, serving.status().message());
    metrics_listener = *std::move(serving);
    spdlog::info("metrics: GET http://{}/metrics (port {})",
                 config->metrics_listen_address(), metrics_listener->port());
  }
  sd_notify(0, "READY=1");

  const int signal_number = opsagent::WaitForTerminationSignal(signals);
  spdlog::info("received signal {}; stopping", signal_number);
  sd_notify(0, "STOPPING=1");
  // Links never end by themselves: close them now, so agents reconnect to
  // whichever controller comes next, then give runs time to finish.
  // No new alerts; diagnoses running finish (they run through this
  // server) and queued ones stay pending for the next start.
  intake_listener.reset();
  pages_listener->reset();
  diagnosis.reset();
  for (const std::shared_ptr<opsagent::AgentConnection>& link : registry->All())
    link->Close("the controller is stopping");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (*enrollment != nullptr && (*enrollment)->server != nullptr)
    (*enrollment)
        ->server->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(2));
  checkpoints.reset();  // signs what the last runs wrote
  return 0;
}
