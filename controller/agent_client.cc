#include "controller/agent_client.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace opsagent {
namespace {

// The call's status for the operator: a missed deadline says how long was
// waited and what it can mean, instead of gRPC's bare "Deadline Exceeded".
absl::Status CallStatus(const grpc::Status& status, absl::Duration timeout) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError(absl::StrCat(
        "deadline exceeded: no complete answer within ",
        absl::FormatDuration(timeout),
        " (the host may be cut off or overloaded, or the operation needs a "
        "longer --timeout)"));
  }
  return FromGrpcStatus(status);
}

bool Parse(const grpc::ByteBuffer& buffer, google::protobuf::Message* out) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& slice : slices)
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return out->ParseFromString(bytes);
}

// Waits for the completion of the operation tagged `tag`.
bool Await(grpc::CompletionQueue& queue, void* tag) {
  void* got = nullptr;
  bool ok = false;
  while (queue.Next(&got, &ok)) {
    if (got == tag) return ok;
  }
  return false;
}

}  // namespace

std::unique_ptr<AgentClient> AgentClient::Connect(
    std::shared_ptr<grpc::ChannelCredentials> credentials, const v1::Host& host,
    absl::Duration timeout) {
  grpc::ChannelArguments args;
  // Verify the agent's certificate against the inventory name, whatever
  // address the host is reached at.
  args.SetSslTargetNameOverride(host.name());
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return std::unique_ptr<AgentClient>(new AgentClient(
      grpc::CreateCustomChannel(host.address(), credentials, args), timeout));
}

absl::StatusOr<std::unique_ptr<AgentClient>> AgentClient::Connect(
    const TlsFiles& tls, const v1::Host& host, absl::Duration timeout) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(tls);
  if (!credentials.ok()) return credentials.status();
  return Connect(*std::move(credentials), host, timeout);
}

OperationResult AgentClient::Call(
    const OperationInfo& op, const google::protobuf::Message& request,
    const std::function<void(const google::protobuf::Message&)>& on_event) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  grpc::CompletionQueue queue;
  grpc::GenericStub stub(channel_);
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, op.path, &queue);
  int started, written, closed, read, finished;
  call->StartCall(&started);
  bool ok = Await(queue, &started);
  grpc::Slice slice(request.SerializeAsString());
  grpc::ByteBuffer out(&slice, 1);
  if (ok) {
    call->Write(out, &written);
    ok = Await(queue, &written);
  }
  if (ok) {
    call->WritesDone(&closed);
    ok = Await(queue, &closed);
  }
  OperationResult result;
  bool malformed = false;
  for (grpc::ByteBuffer in; ok;) {
    call->Read(&in, &read);
    if (!Await(queue, &read)) break;
    std::unique_ptr<google::protobuf::Message> message = op.NewReply();
    if (!Parse(in, message.get())) {
      malformed = true;
      continue;
    }
    if (op.streaming && on_event) on_event(*message);
    if (op.IsFinal(*message)) result.final = std::move(message);
  }
  grpc::Status status;
  call->Finish(&status, &finished);
  Await(queue, &finished);
  queue.Shutdown();
  for (void* tag; queue.Next(&tag, &ok);) {
  }
  result.status = CallStatus(status, timeout_);
  if (!status.ok() && result.final == nullptr) {
    std::unique_ptr<google::protobuf::Message> data = op.NewReply();
    if (DataOfFailure(status, data.get())) result.final = std::move(data);
  }
  if (result.status.ok() && malformed) {
    result.status = absl::DataLossError(
        absl::StrCat("the agent sent a message that is not a ",
                     op.method->output_type()->full_name()));
  } else if (result.status.ok() && result.final == nullptr) {
    result.status = absl::DataLossError(
        absl::StrCat("the agent ended ", op.name, " without ",
                     op.streaming ? "a result" : "a reply"));
  }
  return result;
}

}  // namespace opsagent
