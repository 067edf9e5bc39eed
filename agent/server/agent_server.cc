#include "agent/server/agent_server.h"

#include "absl/strings/str_cat.h"
#include "common/tls/credentials.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// Requests are small; this bounds what an attacker can make the agent buffer.
constexpr int kMaxReceiveBytes = 64 * 1024;
constexpr int kMaxThreads = 32;

}  // namespace

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(
    const AgentEnvironment& agent) {
  const v1::TlsConfig& tls = agent.config.tls();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials({tls.certificate(), tls.private_key(),
                             tls.ca_certificate(),
                             static_cast<int>(tls.refresh_interval_seconds()),
                             tls.crl_directory()});
  if (!credentials.ok()) return credentials.status();

  std::unique_ptr<ActionJournal> journal;
  if (!agent.config.journal_path().empty()) {
    absl::StatusOr<std::unique_ptr<ActionJournal>> opened =
        ActionJournal::Open(agent.config.journal_path());
    if (!opened.ok()) return opened.status();
    journal = *std::move(opened);
    spdlog::info("agent journal {}: {} earlier records",
                 agent.config.journal_path(), journal->history().size());
  }
  auto service = std::make_unique<AgentService>(agent, std::move(journal));
  grpc::ResourceQuota quota("opsagent");
  quota.SetMaxThreads(kMaxThreads);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(agent.config.listen_address(), *credentials, &port);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  builder.SetResourceQuota(quota);
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", agent.config.listen_address(),
                     " (address in use, or not an address of this host?)"));
  }
  return std::unique_ptr<AgentServer>(
      new AgentServer(std::move(service), std::move(server), port));
}

void AgentServer::Shutdown(absl::Duration grace) {
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoSeconds(grace));
}

}  // namespace opsagent
