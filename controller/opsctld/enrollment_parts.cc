#include "controller/opsctld/enrollment_parts.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/listen_address.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

namespace opsagent {

absl::StatusOr<std::unique_ptr<EnrollmentParts>> MakeEnrollmentParts(
    const v1::OpsctldConfig& config, AuditStore* audit, ServerTrust* trust,
    AgentRegistry* registry, MetricRegistry& metrics) {
  if (!config.has_host_ca()) return nullptr;
  const v1::HostCaConfig& settings = config.host_ca();
  absl::StatusOr<std::unique_ptr<HostCa>> ca =
      HostCa::Load(settings.certificate(), settings.private_key());
  if (!ca.ok())
    return absl::Status(
        ca.status().code(),
        absl::StrCat("config field host_ca: ", ca.status().message()));
  auto parts = std::make_unique<EnrollmentParts>();
  absl::StatusOr<std::unique_ptr<EnrollmentStore>> store =
      EnrollmentStore::Open(config.audit_database());
  if (!store.ok()) return store.status();
  parts->store = *std::move(store);
  const HostCa* issuer = ca->get();
  parts->crl = std::make_unique<CrlPublisher>(
      issuer, parts->store.get(), settings.crl_file(),
      absl::Hours(settings.crl_hours()), [trust] {
        // Revoked links are refused at the next handshake, not a minute on.
        trust->Refresh().IgnoreError();
      });
  HostEnrollment::Options options;
  options.certificate_life = absl::Hours(settings.certificate_hours());
  options.connected = [registry](const std::string& host) {
    return registry->Find(host) != nullptr;
  };
  options.end_link = [registry](const std::string& host,
                                const std::string& why) {
    std::shared_ptr<AgentConnection> link = registry->Find(host);
    if (link == nullptr) return false;
    link->Close(why);
    return true;
  };
  parts->enrollment = std::make_unique<HostEnrollment>(
      *std::move(ca), parts->store.get(), audit, parts->crl.get(),
      std::move(options));
  if (absl::Status started = parts->crl->Start(); !started.ok()) return started;
  HostEnrollment* enrollment = parts->enrollment.get();
  metrics.AddGauge(
      "opsagent_controller_enrollments_refused_without_token",
      "Enrollment requests refused before any token was found (malformed, "
      "unknown or wrong secret), since start.",
      [enrollment] { return enrollment->refused_without_token(); });
  spdlog::info("host CA: issues certificates of {} hours in {}",
               settings.certificate_hours(),
               absl::StrJoin(issuer->permitted_domains(), ", "));
  return parts;
}

absl::Status ServeEnrollment(const v1::OpsctldConfig& config,
                             const ServerTrust& trust, EnrollmentParts& parts) {
  const std::string& address = config.host_ca().enrollment_listen_address();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeEnrollmentCredentials(trust);
  if (!credentials.ok()) return credentials.status();
  parts.service = std::make_unique<EnrollmentService>(parts.enrollment.get());
  WaitUntilBindable(address, absl::Seconds(60));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, *credentials, &port);
  builder.SetMaxReceiveMessageSize(kMaxEnrollRequestBytes);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 4);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10000);
  builder.RegisterService(parts.service.get());
  parts.server = builder.BuildAndStart();
  if (parts.server == nullptr || port == 0)
    return absl::UnavailableError(absl::StrCat(
        "config field host_ca.enrollment_listen_address: cannot listen on ",
        address));
  spdlog::info("enrollment: hosts with a token enroll at {} (port {})", address,
               port);
  return absl::OkStatus();
}

}  // namespace opsagent
