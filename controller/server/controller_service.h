#ifndef OPSAGENT_CONTROLLER_SERVER_CONTROLLER_SERVICE_H_
#define OPSAGENT_CONTROLLER_SERVER_CONTROLLER_SERVICE_H_

#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/tls/peer_identity.h"
#include "controller/alerts/incident_store.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/write_budget.h"
#include "controller/enroll/host_enrollment.h"
#include "controller/inventory.h"
#include "controller/server/agent_registry.h"
#include "controller/server/audit_checkpointer.h"
#include "controller/server/controller_access.h"
#include "controller/server/incident_services.h"
#include "controller/server/relay_run.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// What operators' opsctl call on the controller: SelectHosts and Run (a
// fan-out of requests the operator signed, relayed over the agents' links,
// RelayRun), ListHosts, QueryAudit, VerifyAudit and ExportAudit, and the
// incidents alerts opened (ListIncidents, GetIncident, RespondToIncident,
// LinkIncidentPage).
// Only operator certificates are served (clientAuth, not serverAuth: a host
// certificate cannot act as an operator), and only what an access rule
// grants them. Work that may take long (a run, a query or verification of
// the log) runs on a thread of its own; destruction waits for it.
class ControllerService final : public v1::Controller::CallbackService {
 public:
  // `audit` takes the writes; `audit_reader` (a second connection to the
  // same database) the queries and verification, so that a long read does
  // not hold up the writes. `checkpoints` (null when off) signs the log's
  // checkpoints, and verification checks them with its key. `incidents`
  // (its store null when the alert intake is off) answers ListIncidents,
  // GetIncident, RespondToIncident and LinkIncidentPage; `metrics` counts
  // relayed calls; `budget` is charged with what each operator's calls
  // write into the log. `runbooks` (null when the
  // controller has none) reads the team's runbooks, validated, for
  // GetRunbooks. `enrollment` (null without a host CA) answers the RPCs of
  // permission "enroll" (fleet_rpcs.cc).
  using RunbookReader = std::function<absl::StatusOr<v1::Runbook>()>;
  ControllerService(const v1::OpsctldConfig& config, AgentRegistry* registry,
                    Inventory inventory, AuditStore* audit,
                    AuditStore* audit_reader,
                    const AuditCheckpointer* checkpoints,
                    const IncidentServices& incidents, RelayMetrics* metrics,
                    WriteBudget* budget, RunbookReader runbooks,
                    HostEnrollment* enrollment = nullptr);
  ~ControllerService() override;

  grpc::ServerWriteReactor<v1::RunEvent>* Run(
      grpc::CallbackServerContext* context,
      const v1::RunRequest* request) override;
  grpc::ServerUnaryReactor* SelectHosts(grpc::CallbackServerContext* context,
                                        const v1::SelectHostsRequest* request,
                                        v1::SelectHostsReply* reply) override;
  grpc::ServerUnaryReactor* ListHosts(grpc::CallbackServerContext* context,
                                      const v1::ListHostsRequest* request,
                                      v1::ListHostsReply* reply) override;
  grpc::ServerUnaryReactor* QueryAudit(grpc::CallbackServerContext* context,
                                       const v1::AuditQuery* request,
                                       v1::AuditQueryReply* reply) override;
  grpc::ServerUnaryReactor* VerifyAudit(grpc::CallbackServerContext* context,
                                        const v1::VerifyAuditRequest* request,
                                        v1::VerifyAuditReply* reply) override;
  grpc::ServerUnaryReactor* ExportAudit(grpc::CallbackServerContext* context,
                                        const v1::ExportAuditRequest* request,
                                        v1::ExportAuditReply* reply) override;
  grpc::ServerUnaryReactor* ListIncidents(
      grpc::CallbackServerContext* context,
      const v1::ListIncidentsRequest* request,
      v1::ListIncidentsReply* reply) override;
  grpc::ServerUnaryReactor* GetIncident(grpc::CallbackServerContext* context,
                                        const v1::GetIncidentRequest* request,
                                        v1::Incident* reply) override;
  grpc::ServerUnaryReactor* RespondToIncident(
      grpc::CallbackServerContext* context, const v1::IncidentResponse* request,
      v1::IncidentResponseRecorded* reply) override;
  grpc::ServerUnaryReactor* LinkIncidentPage(
      grpc::CallbackServerContext* context,
      const v1::IncidentPageLinkRequest* request,
      v1::IncidentPageLink* reply) override;
  grpc::ServerUnaryReactor* RecordGuidedStep(
      grpc::CallbackServerContext* context, const v1::GuidedStepRecord* request,
      v1::GuidedStepRecorded* reply) override;
  grpc::ServerUnaryReactor* GetRunbooks(grpc::CallbackServerContext* context,
                                        const v1::GetRunbooksRequest* request,
                                        v1::Runbook* reply) override;
  grpc::ServerUnaryReactor* CreateEnrollmentToken(
      grpc::CallbackServerContext* context,
      const v1::EnrollmentTokenRequest* request,
      v1::EnrollmentTokenCreated* reply) override;
  grpc::ServerUnaryReactor* ListEnrollmentTokens(
      grpc::CallbackServerContext* context,
      const v1::ListEnrollmentTokensRequest* request,
      v1::ListEnrollmentTokensReply* reply) override;
  grpc::ServerUnaryReactor* RevokeEnrollmentToken(
      grpc::CallbackServerContext* context,
      const v1::RevokeEnrollmentTokenRequest* request,
      v1::EnrollmentToken* reply) override;
  grpc::ServerUnaryReactor* RevokeHost(grpc::CallbackServerContext* context,
                                       const v1::RevokeHostRequest* request,
                                       v1::RevokeHostReply* reply) override;

  // The static inventory it serves (the intake's too).
  const Inventory& inventory() const { return inventory_; }

 private:
  // The operator calling, if allowed `permission`.
  absl::StatusOr<PeerIdentity> Authorize(
      const grpc::CallbackServerContext& context, absl::string_view permission);
  // The operator calling `rpc` (its method name), if allowed the
  // permission it declares, with a request holding no field this release
  // does not know.
  absl::StatusOr<PeerIdentity> Authorize(
      const grpc::CallbackServerContext& context, absl::string_view rpc,
      const google::protobuf::Message& request);
  // Runs `work` on a thread of its own, counted until it returns.
  void Detach(std::function<void()> work);
  // A guided step's record names a guided step of the controller's runbooks
  // (when it keeps them): nobody writes made-up steps into the log.
  absl::Status CheckGuidedStep(const v1::GuidedStepRecord& record) const;
  // The host CA's enrollment, if configured; FAILED_PRECONDITION otherwise.
  absl::StatusOr<HostEnrollment*> ServedEnrollment() const;
  // The incidents, if the intake is on; FAILED_PRECONDITION otherwise.
  absl::StatusOr<IncidentStore*> ServedIncidents() const;

  // The one opening of every unary call of `rpc` (its method name): the
  // caller must hold the permission the RPC declares (rpc_permission.h);
  // `answer` then runs with the caller, on gRPC's thread, and its status
  // finishes the call.
  grpc::ServerUnaryReactor* Answer(
      grpc::CallbackServerContext* context, absl::string_view rpc,
      const google::protobuf::Message& request,
      const std::function<absl::Status(const PeerIdentity&)>& answer);
  // The same for calls that read the whole audit log: `prepare` checks the
  // request on gRPC's thread and returns the work, which runs detached
  // (Detach) and whose status finishes the call.
  using Work = std::function<absl::Status()>;
  grpc::ServerUnaryReactor* AnswerDetached(
      grpc::CallbackServerContext* context, absl::string_view rpc,
      const google::protobuf::Message& request,
      const std::function<absl::StatusOr<Work>(const PeerIdentity&)>& prepare);

  const v1::OpsctldConfig config_;
  AgentRegistry* const registry_;
  const Inventory inventory_;
  AuditStore* const audit_;
  AuditStore* const audit_reader_;
  const AuditCheckpointer* const checkpoints_;
  const IncidentServices incidents_;
  RelayMetrics* const metrics_;
  WriteBudget* const budget_;
  const RunbookReader runbooks_;
  HostEnrollment* const enrollment_;
  const ControllerAccess access_;
  PeerIdentityReader identities_;
  absl::Mutex mutex_;
  int detached_ ABSL_GUARDED_BY(mutex_) = 0;
  // AnswerDetached's calls running, by the caller's identity, and in all.
  absl::flat_hash_map<std::string, int> whole_log_reads_
      ABSL_GUARDED_BY(mutex_);
  int whole_log_reads_running_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_CONTROLLER_SERVICE_H_
