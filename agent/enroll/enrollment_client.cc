#include "agent/enroll/enrollment_client.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/enroll/host_certificate_files.h"
#include "common/regular_file.h"
#include "common/tls/certificate_request.h"
#include "common/tls/credentials.h"
#include "grpcpp/create_channel.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr size_t kMaxTokenBytes = 256;
constexpr auto kDeadline = std::chrono::seconds(30);

}  // namespace

absl::Status EnrollHost(const v1::AgentConfig& config,
                        absl::string_view agent_version) {
  const v1::EnrollmentConfig& enrollment = config.enrollment();
  absl::StatusOr<std::string> token =
      ReadSecretFile(enrollment.token_file(), kMaxTokenBytes);
  if (!token.ok())
    return absl::FailedPreconditionError(
        absl::StrCat("enrollment.token_file: ", token.status().message()));
  absl::StatusOr<KeyAndRequest> made = MakeHostKeyAndRequest(config.hostname());
  if (!made.ok()) return made.status();

  TlsFiles files;
  files.ca_certificate = config.tls().ca_certificate();
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(files, "controller");
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(config.controller().name());
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  std::unique_ptr<v1::Enrollment::Stub> stub = v1::Enrollment::NewStub(
      grpc::CreateCustomChannel(enrollment.address(), *credentials, args));
  v1::EnrollRequest request;
  request.set_token(*token);
  request.set_hostname(config.hostname());
  request.set_csr_pem(made->request_pem);
  request.set_agent_version(std::string(agent_version));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kDeadline);
  v1::EnrollReply reply;
  grpc::Status status = stub->Enroll(&context, request, &reply);
  if (!status.ok())
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("the controller at ", enrollment.address(),
                                     " refused to enroll ", config.hostname(),
                                     ": ", status.error_message()));
  if (absl::Status installed = InstallHostCertificate(
          config, made->private_key_pem, reply.certificate_pem());
      !installed.ok())
    return installed;
  spdlog::info(
      "enrolled as {} (roles {}, environment {}) until {}", config.hostname(),
      absl::StrJoin(reply.roles(), ","),
      reply.environment().empty() ? "-" : reply.environment(),
      absl::FormatTime(absl::FromUnixMillis(reply.not_after_unix_ms())));
  return absl::OkStatus();
}

}  // namespace opsagent
