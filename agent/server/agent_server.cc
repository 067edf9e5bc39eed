#include "agent/server/agent_server.h"

#include "absl/strings/str_cat.h"
#include "common/connection_guard.h"
#include "common/descriptor_limit.h"
#include "common/listen_address.h"
#include "common/metrics/certificate_expiry.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/tls/credentials.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// Requests are small; this bounds what an attacker can make the agent buffer.
constexpr int kMaxReceiveBytes = 64 * 1024;
// Calls running at once; more are refused at once (RESOURCE_EXHAUSTED).
constexpr int kMaxCalls = 32;
// Descriptors the agent needs besides connections: journal, scans (one per
// directory level and stat thread), children's pipes, TLS files.
constexpr uint64_t kDescriptorsBesidesConnections = 512;
// An authenticated connection that carries no call for this long is closed.
constexpr int kMaxIdleMs = 2 * 60 * 1000;

}  // namespace

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(
    const AgentEnvironment& agent) {
  const v1::TlsConfig& tls = agent.config.tls();
  const v1::Limits& limits = agent.config.limits();
  absl::StatusOr<uint64_t> descriptors = RaiseDescriptorLimit(
      2 * uint64_t{limits.max_connections()} + kDescriptorsBesidesConnections,
      "limits.max_connections (opsagent.service sets LimitNOFILE=16384)");
  if (!descriptors.ok()) return descriptors.status();

  std::unique_ptr<AgentServer> server(new AgentServer());
  absl::StatusOr<std::unique_ptr<ServerTrust>> trust = ServerTrust::Create(
      {tls.certificate(), tls.private_key(), tls.ca_certificate(),
       static_cast<int>(tls.refresh_interval_seconds()), tls.crl_directory()});
  if (!trust.ok()) return trust.status();
  server->trust_ = *std::move(trust);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(*server->trust_);
  if (!credentials.ok()) return credentials.status();

  std::unique_ptr<ActionJournal> journal;
  if (!agent.config.journal_path().empty()) {
    absl::StatusOr<std::unique_ptr<ActionJournal>> opened =
        ActionJournal::Open(agent.config.journal_path(),
                            agent.config.limits().journal_reserve_bytes());
    if (!opened.ok()) return opened.status();
    journal = *std::move(opened);
    spdlog::info("agent journal {}: {} earlier records",
                 agent.config.journal_path(), journal->history().size());
  }
  if (absl::Status status = CheckOperationHandlers(); !status.ok())
    return status;
  const ServerTrust* trust_for_info = server->trust_.get();
  server->gate_ = std::make_unique<CallGate>(
      agent, std::move(journal),
      [trust_for_info] { return trust_for_info->CertificateNotAfter(); });
  if (!agent.config.metrics_listen_address().empty()) {
    AddCertificateExpiryGauge(
        server->gate_->metrics(),
        "opsagent_agent_certificate_expiry_timestamp_seconds",
        agent.config.tls().certificate());
    // Several controllers: how many of them have this host right now (an
    // alert can fire below the configured number, or at 0).
    const AgentServer* self = server.get();
    server->gate_->metrics().AddGauge(
        "opsagent_agent_controller_links",
        "Controllers this agent is configured to link to.",
        [self] { return static_cast<double>(self->CountLinks().configured); });
    server->gate_->metrics().AddGauge(
        "opsagent_agent_controller_links_connected",
        "Controller links up (the controller accepted this agent).",
        [self] { return static_cast<double>(self->CountLinks().connected); });
    absl::StatusOr<std::unique_ptr<HttpListener>> metrics = ServeMetrics(
        agent.config.metrics_listen_address(), server->gate_->metrics());
    if (!metrics.ok()) return metrics.status();
    server->metrics_ = *std::move(metrics);
    spdlog::info("metrics: GET http://{}/metrics (port {})",
                 agent.config.metrics_listen_address(),
                 server->metrics_->port());
  }
  const bool has_controller = !agent.config.controller().address().empty();
  if (has_controller) {
    // Renewal goes over the `controller` link alone, never over two links
    // at once: two requests in flight would each make a fresh key, and the
    // answer to the one whose key was already replaced could not be
    // installed (or, worse, two controllers' answers would overwrite each
    // other's files). The first controller is also the one this host
    // enrolled with (enrollment.address names its listener), so its host
    // CA is the one that issued the certificate. While it is down the
    // renewal waits: it starts at two thirds of the certificate's life, so
    // a third is left to get it back.
    if (agent.config.has_enrollment())
      server->renewal_ = std::make_unique<CertificateRenewal>(agent.config);
    std::vector<const v1::ControllerLink*> controllers = {
        &agent.config.controller()};
    for (const v1::ControllerLink& more : agent.config.more_controllers())
      controllers.push_back(&more);
    absl::MutexLock lock(&server->links_mutex_);
    for (const v1::ControllerLink* controller : controllers) {
      absl::StatusOr<std::unique_ptr<ControllerLink>> link =
          ControllerLink::Start(
              agent, *controller, *server->trust_, server->gate_.get(),
              server->links_.empty() ? server->renewal_.get() : nullptr);
      if (!link.ok()) return link.status();
      server->links_.push_back(*std::move(link));
      spdlog::info("linking to the controller {} at {}", controller->name(),
                   controller->address());
    }
  }
  if (agent.config.listen_address().empty()) {
    spdlog::info(
        "no listener (listen_address is empty): operations come "
        "over the controller link only");
    return server;
  }
  // With a controller, the listener is the break-glass path: every call it
  // serves is journaled, read-only ones too.
  server->service_ = std::make_unique<OperationService>(
      server->gate_.get(), kMaxCalls, /*journal_every_call=*/has_controller);

  ConfigureConnectionGuard(
      {limits.max_connections(), limits.max_connections_per_peer()});
  WaitUntilBindable(agent.config.listen_address(), absl::Seconds(30));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(agent.config.listen_address(), *credentials,
                           &server->port_);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  builder.AddChannelArgument(
      GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
      static_cast<int>(limits.handshake_timeout_seconds()) * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxIdleMs);
  // Nobody else may listen on the agent's port beside it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterCallbackGenericService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", agent.config.listen_address(),
                     " (address in use, or not an address of this host?)"));
  }
  spdlog::info(
      "connections: at most {} at once, {} per peer, {} s to finish the TLS "
      "handshake; descriptor limit {}",
      limits.max_connections(), limits.max_connections_per_peer(),
      limits.handshake_timeout_seconds(), *descriptors);
  return server;
}

absl::Status AgentServer::CheckLinksAlive(absl::Duration timeout) const {
  absl::MutexLock lock(&links_mutex_);
  for (const std::unique_ptr<ControllerLink>& link : links_) {
    if (absl::Status alive = link->CheckAlive(timeout); !alive.ok())
      return alive;
  }
  return absl::OkStatus();
}

AgentServer::LinkCount AgentServer::CountLinks() const {
  absl::MutexLock lock(&links_mutex_);
  LinkCount count;
  count.configured = static_cast<int>(links_.size());
  for (const std::unique_ptr<ControllerLink>& link : links_)
    count.connected += link->connected() ? 1 : 0;
  return count;
}

void AgentServer::Shutdown(absl::Duration grace) {
  std::vector<std::unique_ptr<ControllerLink>> links;
  {
    absl::MutexLock lock(&links_mutex_);
    links.swap(links_);
  }
  // Each waits for its relayed calls to end; not under the lock, which the
  // watchdog takes.
  links.clear();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoSeconds(grace));
  }
  if (gate_ != nullptr) gate_->StopJournaling();
}

}  // namespace opsagent
