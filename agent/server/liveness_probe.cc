#include "agent/server/liveness_probe.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace opsagent {
namespace {

// The host part of HOST:PORT, with a wildcard replaced by loopback.
std::string ProbeHost(const std::string& listen_address) {
  std::string host = listen_address.substr(0, listen_address.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "*") return "127.0.0.1";
  if (host == "[::]" || host == "::") return "[::1]";
  return host;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LivenessProbe>> LivenessProbe::Create(
    const std::string& listen_address, int port, const TlsFiles& own) {
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          own.private_key, own.certificate, own.ca_certificate,
          std::max(1, own.refresh_interval_seconds));
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_identity_key_cert_pairs();
  options.watch_root_certs();
  // The agent talks to itself: what is proved is that it answers, not who
  // it is, so the server certificate is not matched against a name.
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::experimental::TlsCredentials(options);
  if (credentials == nullptr)
    return absl::InternalError("cannot build the liveness probe's credentials");
  return std::unique_ptr<LivenessProbe>(
      new LivenessProbe(absl::StrCat(ProbeHost(listen_address), ":", port),
                        std::move(credentials)));
}

absl::Status LivenessProbe::Check(absl::Duration timeout) {
  grpc::ChannelArguments args;
  // A channel of its own, so every probe makes a new connection (accept).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target_, credentials_, args);
  std::unique_ptr<grpc::health::v1::Health::Stub> stub =
      grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.set_wait_for_ready(false);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "no answer from ", target_, " within ", absl::FormatDuration(timeout),
        ": ", status.error_message()));
  }
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(
        absl::StrCat(target_, " answers but is not serving"));
  }
  return absl::OkStatus();
}

}  // namespace opsagent
