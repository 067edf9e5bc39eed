#include "controller/server/run_reactor.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/one_write_at_a_time.h"
#include "common/operation_catalog.h"
#include "controller/server/relay_run.h"
#include "controller/server/run_incident.h"
#include "grpc/grpc_security_constants.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

std::string PeerCertificate(const grpc::CallbackServerContext& context) {
  std::vector<grpc::string_ref> pem =
      context.auth_context()->FindPropertyValues(
          GRPC_X509_PEM_CERT_PROPERTY_NAME);
  return pem.empty() ? "" : std::string(pem.front().data(), pem.front().size());
}

// One Run: the fan-out runs on a thread of its own and writes each event,
// waiting for gRPC to take it (one write at a time).
class RunReactor final : public grpc::ServerWriteReactor<v1::RunEvent> {
 public:
  RunReactor(const RunServing& serving, absl::StatusOr<PeerIdentity> caller,
             grpc::CallbackServerContext* context,
             const v1::RunRequest* request)
      : serving_(serving), context_(context), request_(*request) {
    if (!caller.ok()) {
      Finish(ToGrpcStatus(caller.status()));
      return;
    }
    caller_ = *std::move(caller);
    serving_.detach([this] { Serve(); });
  }

  void OnWriteDone(bool ok) override { writes_.Done(ok); }
  void OnDone() override { delete this; }

 private:
  bool Write(const v1::RunEvent& event) {
    return writes_.Write(event,
                         [this](const v1::RunEvent* e) { StartWrite(e); });
  }

  void Serve() {
    const v1::OpsctldConfig& config = *serving_.config;
    const OperationInfo* op = FindOperation(request_.operation());
    if (op == nullptr) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("no operation \"", request_.operation(),
                                       "\" is declared")));
      return;
    }
    // Agents refuse the automation role every change; the controller does
    // not relay one either.
    if (caller_.IsAutomation() && op->mutating &&
        !op->read_only_per_declaration) {
      Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          absl::StrCat(caller_.ToString(),
                                       " has the read-only automation "
                                       "role and may not run ",
                                       op->name)));
      return;
    }
    if (absl::Status incident =
            CheckRunIncident(request_, *op, serving_.incidents);
        !incident.ok()) {
      Finish(ToGrpcStatus(incident));
      return;
    }
    RelaySpec spec;
    spec.op = op;
    spec.request = request_;
    spec.operator_certificate = PeerCertificate(*context_);
    spec.operator_identity = caller_.name;
    spec.timeout = absl::Seconds(
        request_.timeout_seconds() == 0 ? 30 : request_.timeout_seconds());
    spec.concurrency = static_cast<int>(std::clamp<uint32_t>(
        request_.concurrency() == 0 ? 20 : request_.concurrency(), 1,
        config.max_concurrency()));
    spec.metrics = serving_.metrics;
    spec.budget = serving_.budget;
    spdlog::info("run {} on \"{}\" ({} hosts) by {}", op->name,
                 request_.target(), request_.requests_size(),
                 caller_.ToString());
    absl::Status status =
        RelayRun(spec, *serving_.registry, *serving_.inventory, *serving_.audit,
                 [this](const v1::RunEvent& event) { return Write(event); });
    Finish(ToGrpcStatus(status));
  }

  const RunServing serving_;
  grpc::CallbackServerContext* const context_;
  const v1::RunRequest request_;
  PeerIdentity caller_;
  OneWriteAtATime<v1::RunEvent> writes_;
};

}  // namespace

grpc::ServerWriteReactor<v1::RunEvent>* StartRun(
    const RunServing& serving, absl::StatusOr<PeerIdentity> caller,
    grpc::CallbackServerContext* context, const v1::RunRequest* request) {
  return new RunReactor(serving, std::move(caller), context, request);
}

}  // namespace opsagent
