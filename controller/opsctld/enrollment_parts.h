#ifndef OPSAGENT_CONTROLLER_OPSCTLD_ENROLLMENT_PARTS_H_
#define OPSAGENT_CONTROLLER_OPSCTLD_ENROLLMENT_PARTS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/metrics/metrics.h"
#include "common/tls/server_trust.h"
#include "controller/audit/audit_store.h"
#include "controller/enroll/crl_publisher.h"
#include "controller/enroll/enrollment_service.h"
#include "controller/enroll/enrollment_store.h"
#include "controller/enroll/host_enrollment.h"
#include "controller/server/agent_registry.h"
#include "grpcpp/server.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// What opsctld runs the host CA with (host_ca in its configuration): the
// enrollment records, the CRL kept current, enrollment and renewal, and
// the listener hosts enroll on. Destroyed in reverse order of the members:
// the listener first, the records last.
struct EnrollmentParts {
  std::unique_ptr<EnrollmentStore> store;
  std::unique_ptr<HostEnrollment> enrollment;
  std::unique_ptr<CrlPublisher> crl;
  std::unique_ptr<EnrollmentService> service;
  std::unique_ptr<grpc::Server> server;
};

// Loads the host CA and writes its first CRL (after which `trust` re-reads
// its CRL directory); null without host_ca. An error names the
// configuration field. `audit`, `trust` and `registry` must outlive it.
absl::StatusOr<std::unique_ptr<EnrollmentParts>> MakeEnrollmentParts(
    const v1::OpsctldConfig& config, AuditStore* audit, ServerTrust* trust,
    AgentRegistry* registry, MetricRegistry& metrics);

// Starts the enrollment listener (host_ca.enrollment_listen_address).
absl::Status ServeEnrollment(const v1::OpsctldConfig& config,
                             const ServerTrust& trust, EnrollmentParts& parts);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_OPSCTLD_ENROLLMENT_PARTS_H_
