// ControllerService's RPCs of permission "enroll": enrollment tokens and
// the revocation of a host, answered by the host CA's HostEnrollment.
#include "controller/server/controller_service.h"

namespace opsagent {

absl::StatusOr<HostEnrollment*> ControllerService::ServedEnrollment() const {
  if (enrollment_ == nullptr)
    return absl::FailedPreconditionError(
        "this controller has no host CA (host_ca in opsctld's configuration): "
        "hosts get their certificates by hand, and there are no enrollment "
        "tokens");
  return enrollment_;
}

grpc::ServerUnaryReactor* ControllerService::CreateEnrollmentToken(
    grpc::CallbackServerContext* context,
    const v1::EnrollmentTokenRequest* request,
    v1::EnrollmentTokenCreated* reply) {
  return Answer(context, __func__, *request,
                [&](const PeerIdentity& caller) -> absl::Status {
                  absl::StatusOr<HostEnrollment*> enrollment =
                      ServedEnrollment();
                  if (!enrollment.ok()) return enrollment.status();
                  absl::StatusOr<v1::EnrollmentTokenCreated> created =
                      (*enrollment)->CreateToken(caller, *request);
                  if (!created.ok()) return created.status();
                  *reply = *std::move(created);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* ControllerService::ListEnrollmentTokens(
    grpc::CallbackServerContext* context,
    const v1::ListEnrollmentTokensRequest* request,
    v1::ListEnrollmentTokensReply* reply) {
  return Answer(
      context, __func__, *request, [&](const PeerIdentity&) -> absl::Status {
        absl::StatusOr<HostEnrollment*> enrollment = ServedEnrollment();
        if (!enrollment.ok()) return enrollment.status();
        absl::StatusOr<v1::ListEnrollmentTokensReply> listed =
            (*enrollment)->ListTokens(*request);
        if (!listed.ok()) return listed.status();
        *reply = *std::move(listed);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ControllerService::RevokeEnrollmentToken(
    grpc::CallbackServerContext* context,
    const v1::RevokeEnrollmentTokenRequest* request,
    v1::EnrollmentToken* reply) {
  return Answer(context, __func__, *request,
                [&](const PeerIdentity& caller) -> absl::Status {
                  absl::StatusOr<HostEnrollment*> enrollment =
                      ServedEnrollment();
                  if (!enrollment.ok()) return enrollment.status();
                  absl::StatusOr<v1::EnrollmentToken> revoked =
                      (*enrollment)->RevokeToken(caller, *request);
                  if (!revoked.ok()) return revoked.status();
                  *reply = *std::move(revoked);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* ControllerService::RevokeHost(
    grpc::CallbackServerContext* context, const v1::RevokeHostRequest* request,
    v1::RevokeHostReply* reply) {
  return Answer(context, __func__, *request,
                [&](const PeerIdentity& caller) -> absl::Status {
                  absl::StatusOr<HostEnrollment*> enrollment =
                      ServedEnrollment();
                  if (!enrollment.ok()) return enrollment.status();
                  absl::StatusOr<v1::RevokeHostReply> revoked =
                      (*enrollment)->RevokeHost(caller, *request);
                  if (!revoked.ok()) return revoked.status();
                  *reply = *std::move(revoked);
                  return absl::OkStatus();
                });
}

}  // namespace opsagent
