#ifndef OPSAGENT_CONTROLLER_ENROLL_ENROLLMENT_SERVICE_H_
#define OPSAGENT_CONTROLLER_ENROLL_ENROLLMENT_SERVICE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/tls/server_trust.h"
#include "controller/enroll/host_enrollment.h"
#include "grpcpp/security/server_credentials.h"
#include "opsagent/v1/controller.grpc.pb.h"

namespace opsagent {

// Where hosts without a certificate enroll: Enrollment.Enroll on a listener
// of its own, which asks no client certificate (they have none yet), so
// that the controller's main port keeps refusing every connection without
// one. The token in the request is the only credential (HostEnrollment).
class EnrollmentService final : public v1::Enrollment::CallbackService {
 public:
  explicit EnrollmentService(HostEnrollment* enrollment)
      : enrollment_(enrollment) {}

  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext* context,
                                   const v1::EnrollRequest* request,
                                   v1::EnrollReply* reply) override;

 private:
  HostEnrollment* const enrollment_;
};

// TLS with the controller's own certificate (`trust`'s staged copy, which
// follows rotations) and no client certificate asked.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MakeEnrollmentCredentials(const ServerTrust& trust);

// What an enrollment request may weigh: a token, a host name and a CSR.
inline constexpr int kMaxEnrollRequestBytes = 16 << 10;

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ENROLL_ENROLLMENT_SERVICE_H_
