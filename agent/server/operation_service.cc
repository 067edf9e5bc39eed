#include "agent/server/operation_service.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/connection_guard.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/one_write_at_a_time.h"
#include "common/operation_catalog.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/support/byte_buffer.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices)
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return out;
}

grpc::ByteBuffer ToBuffer(const google::protobuf::Message& message) {
  grpc::Slice slice(message.SerializeAsString());
  return grpc::ByteBuffer(&slice, 1);
}

// One call: reads its request, then serves it on a thread of its own (the
// reactor's callbacks must not block), writing one message at a time.
class CallReactor final : public grpc::ServerGenericBidiReactor {
 public:
  CallReactor(OperationService* service,
              grpc::GenericCallbackServerContext* context)
      : service_(service), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the call sent no request"));
      return;
    }
    if (!service_->TryStartCall()) {
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "the agent is serving as many calls as it runs at "
                          "once; try again shortly"));
      return;
    }
    OperationService* service = service_;
    std::thread([this, service] {
      Serve();  // ends with Finish: `this` may be gone afterwards
      service->EndCall();
    }).detach();
  }

  void OnWriteDone(bool ok) override { writes_.Done(ok); }

  void OnCancel() override { cancelled_.store(true); }
  void OnDone() override { delete this; }

 private:
  // Sends `message` and waits until gRPC has taken it (flow control).
  bool Write(const google::protobuf::Message& message) {
    return writes_.Write(ToBuffer(message),
                         [this](const grpc::ByteBuffer* b) { StartWrite(b); });
  }

  void Serve() {
    const std::string method = context_->method();
    if (method == kHealthCheck) {
      grpc::health::v1::HealthCheckResponse serving;
      serving.set_status(grpc::health::v1::HealthCheckResponse::SERVING);
      Write(serving);
      Finish(grpc::Status::OK);
      return;
    }
    const OperationInfo* op = FindOperationByPath(method);
    if (op == nullptr) {
      Finish(
          grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                       absl::StrCat("this agent has no operation ", method)));
      return;
    }
    absl::StatusOr<PeerIdentity> caller =
        service_->identities().Read(*context_->auth_context());
    if (!caller.ok()) {
      spdlog::warn("denied {} from {}: {}", op->name, context_->peer(),
                   caller.status().message());
      Finish(ToGrpcStatus(caller.status()));
      return;
    }
    // It showed a certificate of ours: its address gets room beside
    // strangers' (a bastion or NAT shared with a flooding neighbour).
    VouchForPeer(context_->peer());
    Call call;
    call.operation = op;
    call.caller = *std::move(caller);
    call.peer = context_->peer();
    call.via = "direct";
    call.journal_read_only = service_->journal_every_call();
    call.request = ToString(request_);
    call.deadline = absl::FromChrono(context_->deadline());
    call.cancelled = [this] {
      return cancelled_.load() || context_->IsCancelled();
    };
    // A unary reply is held until the outcome is known: with an error it
    // travels in the status details, not as a message.
    std::unique_ptr<google::protobuf::Message> reply;
    CallResult result = service_->gate()->Run(
        call, [&](const google::protobuf::Message& message) {
          if (op->streaming) return Write(message);
          reply.reset(message.New());
          reply->CopyFrom(message);
          return true;
        });
    if (!op->streaming && result.status.ok()) {
      if (reply == nullptr) reply = op->NewReply();
      Write(*reply);
    }
    Finish(op->streaming ? ToGrpcStatus(result.status)
                         : ToGrpcStatus(result.status, reply.get()));
  }

  OperationService* const service_;
  grpc::GenericCallbackServerContext* const context_;
  grpc::ByteBuffer request_;
  std::atomic<bool> cancelled_{false};
  OneWriteAtATime<grpc::ByteBuffer> writes_;
};

}  // namespace

OperationService::OperationService(CallGate* gate, int max_calls,
                                   bool journal_every_call)
    : gate_(gate),
      max_calls_(max_calls),
      journal_every_call_(journal_every_call) {}

OperationService::~OperationService() {
  // Calls still running hold pointers to the gate and to this service.
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &running_));
}

grpc::ServerGenericBidiReactor* OperationService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  return new CallReactor(this, context);
}

bool OperationService::TryStartCall() {
  absl::MutexLock lock(&mutex_);
  if (running_ >= max_calls_) return false;
  ++running_;
  return true;
}

void OperationService::EndCall() {
  absl::MutexLock lock(&mutex_);
  --running_;
}

}  // namespace opsagent
