#ifndef OPSAGENT_CONTROLLER_CONTROLLER_CLIENT_H_
#define OPSAGENT_CONTROLLER_CONTROLLER_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {

// opsctl's connection to the team's controller (opsctld), over mutual TLS
// with the operator's certificate. The controller's certificate must chain
// to the operator's CA, carry the controller's name (a DNS SAN) and the role
// "controller", so no agent or operator can pass as the controller. Errors
// for a controller that cannot be reached say so and point to --direct.
class ControllerClient {
 public:
  static absl::StatusOr<std::unique_ptr<ControllerClient>> Connect(
      const v1::OperatorConfig& config);

  // Streams a run's events to `on_event` as they come; the status is the
  // run's (or the connection's).
  absl::Status Run(const v1::RunRequest& request,
                   const std::function<void(const v1::RunEvent&)>& on_event);
  absl::StatusOr<v1::SelectHostsReply> SelectHosts(const std::string& target,
                                                   absl::Duration timeout);
  absl::StatusOr<v1::ListHostsReply> ListHosts(absl::Duration timeout);
  absl::StatusOr<v1::AuditQueryReply> QueryAudit(const v1::AuditQuery& query,
                                                 absl::Duration timeout);
  absl::StatusOr<v1::VerifyAuditReply> VerifyAudit(
      const v1::VerifyAuditRequest& request, absl::Duration timeout);
  absl::StatusOr<v1::ExportAuditReply> ExportAudit(
      const v1::ExportAuditRequest& request, absl::Duration timeout);
  absl::StatusOr<v1::ListIncidentsReply> ListIncidents(
      const v1::ListIncidentsRequest& request, absl::Duration timeout);
  // One page of the incident's alerts: those after `alerts_after` (""
  // for the first).
  absl::StatusOr<v1::Incident> GetIncident(const std::string& id,
                                           const std::string& alerts_after,
                                           absl::Duration timeout);

  // One row in the team's log for an operator's answer to a guided step.
  absl::Status RecordGuidedStep(const v1::GuidedStepRecord& record,
                                absl::Duration timeout);

  // The team's runbooks as the controller keeps them.
  absl::StatusOr<v1::Runbook> GetRunbooks(absl::Duration timeout);

  const std::string& address() const { return address_; }

 private:
  ControllerClient(std::string address, std::shared_ptr<grpc::Channel> channel)
      : address_(std::move(address)),
        stub_(v1::Controller::NewStub(std::move(channel))) {}

  absl::Status Explain(const grpc::Status& status) const;

  std::string address_;
  std::unique_ptr<v1::Controller::Stub> stub_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_CONTROLLER_CLIENT_H_
