#include "controller/enroll/enrollment_service.h"

#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace opsagent {

grpc::ServerUnaryReactor* EnrollmentService::Enroll(
    grpc::CallbackServerContext* context, const v1::EnrollRequest* request,
    v1::EnrollReply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::EnrollReply> enrolled =
      enrollment_->Enroll(*request, context->peer());
  if (!enrolled.ok()) {
    reactor->Finish(
        grpc::Status(static_cast<grpc::StatusCode>(enrolled.status().code()),
                     std::string(enrolled.status().message())));
    return reactor;
  }
  *reply = *std::move(enrolled);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MakeEnrollmentCredentials(const ServerTrust& trust) {
  const TlsFiles& staged = trust.staged();
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          staged.private_key, staged.certificate,
          static_cast<unsigned int>(
              std::max(1, staged.refresh_interval_seconds)));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace opsagent
