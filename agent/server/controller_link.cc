#include "agent/server/controller_link.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/link_limits.h"
#include "common/logging.h"
#include "common/operation_catalog.h"
#include "common/signing/result_signature.h"
#include "common/signing/signed_request.h"
#include "common/tls/credentials.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/create_channel.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// Relayed calls running at once; more are answered RESOURCE_EXHAUSTED.
constexpr int kMaxRelayedCalls = 32;
// Until the controller says otherwise (LinkAccepted).
constexpr absl::Duration kDefaultHeartbeat = absl::Seconds(10);
// A link that lasted this long resets the backoff.
constexpr absl::Duration kStableLink = absl::Seconds(10);

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// Uniform in [low, high].
absl::Duration Jittered(absl::Duration low, absl::Duration high) {
  static thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> share(0.0, 1.0);
  return low + (high - low) * share(random);
}

// Why a message was not sent: it would have been over what the controller
// receives.
std::string OversizedMessage(absl::string_view what, absl::string_view name,
                             size_t bytes) {
  return absl::StrCat(what, " ", name, " is ", bytes, " bytes, over the ",
                      kMaxControllerReceiveBytes,
                      " bytes the controller's link takes in one message");
}

}  // namespace

ControllerLink::ControllerLink(const AgentEnvironment& agent,
                               const v1::ControllerLink& config,
                               ServerTrust& trust, CallGate* gate,
                               CertificateRenewal* renewal)
    : agent_(agent),
      config_(config),
      trust_(trust),
      gate_(gate),
      operators_(trust),
      result_signer_(agent.config.tls().private_key()),
      renewal_(renewal) {}

absl::StatusOr<std::unique_ptr<ControllerLink>> ControllerLink::Start(
    const AgentEnvironment& agent, const v1::ControllerLink& config,
    ServerTrust& trust, CallGate* gate, CertificateRenewal* renewal) {
  std::unique_ptr<ControllerLink> link(
      new ControllerLink(agent, config, trust, gate, renewal));
  TlsFiles files = trust.staged();
  files.crl_directory.clear();
  // The peer must be the controller: a host certificate for its name that
  // also carries the role "controller".
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(files, "controller");
  if (!credentials.ok()) return credentials.status();
  link->credentials_ = *std::move(credentials);
  link->last_progress_ms_ = NowMs();
  ControllerLink* self = link.get();
  link->thread_ = std::thread([self] { self->Run(); });
  return link;
}

ControllerLink::~ControllerLink() {
  stop_.Notify();
  {
    absl::MutexLock lock(&stream_mutex_);
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
  // Relayed calls still running see stop_ and end soon; they use this
  // object, so wait for them.
  absl::MutexLock lock(&calls_mutex_);
  calls_mutex_.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &running_));
}

absl::Status ControllerLink::CheckAlive(absl::Duration /*timeout*/) const {
  const absl::Duration quiet =
      absl::Milliseconds(NowMs() - last_progress_ms_.load());
  if (quiet < absl::Seconds(45)) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("the thread of the link to the controller ", config_.name(),
                   " at ", config_.address(), " made no progress for ",
                   absl::FormatDuration(absl::Trunc(quiet, absl::Seconds(1)))));
}

void ControllerLink::Run() {
  const v1::ControllerLink& config = config_;
  const absl::Duration max_backoff =
      absl::Seconds(std::max<uint32_t>(1, config.max_backoff_seconds()));
  int failures = 0;
  while (!stop_.HasBeenNotified()) {
    const absl::Time started = absl::Now();
    const bool accepted = Session();
    connected_ = false;
    if (stop_.HasBeenNotified()) break;
    absl::Duration wait;
    if (accepted && absl::Now() - started >= kStableLink) {
      // It was up and went away (a controller restart): come back soon,
      // but not all agents in the same instant.
      failures = 0;
      wait = Jittered(absl::ZeroDuration(), absl::Seconds(1));
    } else {
      const absl::Duration cap = std::min(
          max_backoff, absl::Seconds(1) * (1 << std::min(failures, 10)));
      ++failures;
      wait = Jittered(cap / 2, cap);
    }
    const absl::Time until = absl::Now() + wait;
    while (absl::Now() < until && !stop_.HasBeenNotified()) {
      last_progress_ms_ = NowMs();
      stop_.WaitForNotificationWithTimeout(
          std::min(absl::Seconds(1), until - absl::Now()));
    }
  }
}

absl::Status ControllerLink::CheckController(const std::string& pem) const {
  if (pem.empty()) return absl::UnauthenticatedError("it sent no certificate");
  return trust_.VerifyCertificate(pem, ChainVerifier::Purpose::kServer);
}

bool ControllerLink::Send(const v1::AgentMessage& message) {
  absl::MutexLock lock(&write_mutex_);
  return stream_ != nullptr && stream_->Write(message);
}

bool ControllerLink::Session() {
  const v1::ControllerLink& config = config_;
  grpc::ChannelArguments args;
  // The controller's certificate must name `config.name`.
  args.SetSslTargetNameOverride(config.name());
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // Relayed requests are small; the controller checks each against this
  // before it sends it (a message over it would end the link).
  args.SetMaxReceiveMessageSize(static_cast<int>(kMaxAgentLinkReceiveBytes));
  std::unique_ptr<v1::AgentLink::Stub> stub = v1::AgentLink::NewStub(
      grpc::CreateCustomChannel(config.address(), credentials_, args));
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&stream_mutex_);
    if (stop_.HasBeenNotified()) return false;
    context_ = &context;
  }
  std::unique_ptr<
      grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>>
      stream = stub->Connect(&context);
  {
    absl::MutexLock lock(&write_mutex_);
    stream_ = stream.get();
  }
  v1::AgentMessage hello;
  v1::AgentHello* h = hello.mutable_hello();
  h->set_hostname(agent_.config.hostname());
  *h->mutable_roles() = agent_.config.roles();
  h->set_environment(agent_.config.environment());
  h->set_agent_version(agent_.version);
  for (const OperationInfo* op : AllOperations()) h->add_operations(op->name);

  bool accepted = false;
  std::string controller_pem;
  v1::ControllerMessage message;
  absl::Duration heartbeat = kDefaultHeartbeat;
  if (Send(hello) && stream->Read(&message) && message.has_accepted()) {
    // The handshake checked the controller's chain, name and role; its
    // revocation is checked here, against this agent's CRLs, before any
    // call is taken from it.
    std::vector<grpc::string_ref> pem =
        context.auth_context()->FindPropertyValues(
            GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (!pem.empty())
      controller_pem.assign(pem.front().data(), pem.front().size());
    absl::Status trusted = CheckController(controller_pem);
    if (!trusted.ok()) {
      spdlog::error("refusing the controller {} at {}: {}", config.name(),
                    config.address(), trusted.message());
      message.clear_kind();
    }
  }
  if (message.has_accepted()) {
    accepted = true;
    if (message.accepted().heartbeat_seconds() > 0)
      heartbeat = absl::Seconds(message.accepted().heartbeat_seconds());
    connected_ = true;
    last_progress_ms_ = NowMs();
    spdlog::info("connected to the controller {} at {}", config.name(),
                 config.address());
  }

  std::atomic<int64_t> last_heard_ms{NowMs()};
  absl::Notification session_over;
  std::thread beats;
  if (accepted) {
    beats = std::thread([&] {
      while (!session_over.WaitForNotificationWithTimeout(heartbeat)) {
        last_progress_ms_ = NowMs();
        if (absl::Milliseconds(NowMs() - last_heard_ms.load()) >
            3 * heartbeat) {
          spdlog::warn("the controller {} sent nothing for {}; reconnecting",
                       config.name(), absl::FormatDuration(3 * heartbeat));
          context.TryCancel();
          return;
        }
        // A CRL that revokes the controller cuts the link within a beat.
        if (absl::Status trusted = CheckController(controller_pem);
            !trusted.ok()) {
          spdlog::error("dropping the link to the controller {}: {}",
                        config.name(), trusted.message());
          context.TryCancel();
          return;
        }
        v1::AgentMessage beat;
        beat.mutable_heartbeat()->set_sent_unix_ms(NowMs());
        Send(beat);
        if (renewal_ != nullptr) {
          if (std::optional<v1::AgentMessage> renew =
                  renewal_->Due(absl::Now()))
            Send(*renew);
        }
      }
    });
    while (stream->Read(&message)) {
      last_heard_ms = NowMs();
      switch (message.kind_case()) {
        case v1::ControllerMessage::kCall:
          Serve(message.call());
          break;
        case v1::ControllerMessage::kRenewed:
          if (renewal_ == nullptr) break;
          if (absl::Status renewed =
                  renewal_->Finish(message.renewed(), absl::Now());
              !renewed.ok()) {
            spdlog::error("this host's certificate was not renewed: {}",
                          renewed.message());
          } else {
            // Served (and reported by info) now, not at the next interval.
            trust_.Refresh().IgnoreError();
          }
          break;
        case v1::ControllerMessage::kCancel: {
          absl::MutexLock lock(&calls_mutex_);
          auto it = cancelled_.find(message.cancel().call_id());
          if (it != cancelled_.end()) it->second->store(true);
          break;
        }
        default:
          break;
      }
    }
  }
  session_over.Notify();
  if (beats.joinable()) beats.join();
  context.TryCancel();
  {
    absl::MutexLock lock(&write_mutex_);
    stream_ = nullptr;
  }
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&stream_mutex_);
    context_ = nullptr;
  }
  if (stop_.HasBeenNotified()) return accepted;
  if (accepted) {
    spdlog::warn(
        "the link to the controller {} ended: {}", config.name(),
        status.ok() ? "closed by the controller" : status.error_message());
  } else {
    spdlog::warn(
        "cannot link to the controller {} at {}: {}", config.name(),
        config.address(),
        status.ok() ? "it did not accept this agent" : status.error_message());
  }
  return accepted;
}

CallResult ControllerLink::Verify(const v1::RelayedCall& relayed, Call* call) {
  // What the envelope claims, for the log and journal of a refusal. Only
  // once its signature checks out is any of it trusted: its nonce is
  // journaled (and so restored into the replay cache) only then.
  v1::RequestEnvelope claimed;
  claimed.ParseFromString(relayed.signed_request().envelope());
  const auto refuse = [&](absl::Status why) {
    return gate_->Refuse(*call, claimed.operation(), claimed.request_id(), why);
  };
  // The certificate is parsed and verified once (until the trust changes or
  // it expires); the request's signature, lifetime and target are checked
  // at every call.
  const absl::Time now = absl::Now();
  absl::StatusOr<std::shared_ptr<const VerifiedOperator>> verified =
      operators_.Verify(relayed.operator_certificate(), now);
  if (!verified.ok()) return refuse(verified.status());
  call->caller = (*verified)->identity();
  absl::StatusOr<v1::RequestEnvelope> envelope = OpenSignedRequest(
      relayed.signed_request(), (*verified)->certificate_sha256(),
      (*verified)->public_key(), now);
  if (!envelope.ok()) return refuse(envelope.status());
  call->signed_request = Call::Signed{
      envelope->nonce(), absl::FromUnixMillis(envelope->expires_at_unix_ms())};
  if (envelope->target_host() != agent_.config.hostname()) {
    return refuse(absl::PermissionDeniedError(
        absl::StrCat("this call is for host \"", envelope->target_host(),
                     "\"; this host is \"", agent_.config.hostname(), "\"")));
  }
  call->operation = FindOperation(envelope->operation());
  if (call->operation == nullptr) {
    return refuse(absl::UnimplementedError(absl::StrCat(
        "this agent has no operation \"", envelope->operation(), "\"")));
  }
  std::unique_ptr<google::protobuf::Message> request =
      call->operation->NewRequest();
  if (!request->ParseFromString(envelope->request()) ||
      OperationInfo::Meta(*request).request_id() != envelope->request_id()) {
    return refuse(absl::InvalidArgumentError(
        "the signed request's id is not the one in its request"));
  }
  call->request = envelope->request();
  call->request_id = envelope->request_id();
  return CallResult{absl::OkStatus(), ""};
}

void ControllerLink::FillResult(const std::string& request_id,
                                const CallResult& ran,
                                v1::RelayedResult* result) {
  result->mutable_status()->set_code(static_cast<int>(ran.status.code()));
  result->mutable_status()->set_message(std::string(ran.status.message()));
  result->set_final_message(ran.final_message);
  result->clear_signature();
  // Signed with this host's key, so that the controller cannot change
  // what it relays back without it showing (the journal has the digest).
  const std::string digest =
      ResultSha256(agent_.config.hostname(), request_id,
                   static_cast<int>(ran.status.code()), ran.final_message);
  absl::StatusOr<std::string> signature = result_signer_.Sign(digest);
  if (signature.ok()) {
    result->mutable_signature()->set_result_sha256(digest);
    result->mutable_signature()->set_signature(*std::move(signature));
  } else {
    spdlog::error("result of request={} sent unsigned: {}", request_id,
                  signature.status().message());
  }
}

void ControllerLink::Serve(const v1::RelayedCall& relayed) {
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  {
    absl::MutexLock lock(&calls_mutex_);
    if (running_ >= kMaxRelayedCalls) {
      v1::AgentMessage busy;
      v1::RelayedResult* result = busy.mutable_result();
      result->set_call_id(relayed.call_id());
      result->mutable_status()->set_code(
          static_cast<int>(absl::StatusCode::kResourceExhausted));
      result->mutable_status()->set_message(
          "the agent is serving as many calls as it runs at once; try again "
          "shortly");
      Send(busy);
      return;
    }
    ++running_;
    cancelled_[relayed.call_id()] = cancelled;
  }
  std::thread([this, relayed, cancelled] {
    // Set when an event of the call was over what the controller receives:
    // the call ends with that, and the link carries on.
    std::string oversized;
    v1::AgentMessage reply;
    v1::RelayedResult* result = reply.mutable_result();
    result->set_call_id(relayed.call_id());
    const std::string via = absl::StrCat("controller ", config_.name());
    Call call;
    call.peer = via;
    call.via = via;
    call.journal_read_only = true;
    call.deadline = relayed.deadline_unix_ms() > 0
                        ? absl::FromUnixMillis(relayed.deadline_unix_ms())
                        : absl::Now() + absl::Seconds(30);
    call.cancelled = [this, cancelled, deadline = call.deadline] {
      return cancelled->load() || stop_.HasBeenNotified() ||
             absl::Now() > deadline;
    };
    CallResult ran = Verify(relayed, &call);
    if (ran.status.ok()) {
      ran = gate_->Run(call, [&](const google::protobuf::Message& message) {
        if (!call.operation->streaming || call.operation->IsFinal(message))
          return true;
        v1::AgentMessage event;
        event.mutable_event()->set_call_id(relayed.call_id());
        event.mutable_event()->set_message(message.SerializeAsString());
        if (event.ByteSizeLong() > kMaxControllerReceiveBytes) {
          // Sent, it would end the link and every call on it: this call
          // stops instead (as if its caller had gone).
          oversized = OversizedMessage("an event of", call.operation->name,
                                       event.ByteSizeLong());
          return false;
        }
        return Send(event);
      });
    }
    if (!oversized.empty()) {
      ran.status = absl::ResourceExhaustedError(
          absl::StrCat(oversized, "; the call was stopped there (",
                       ran.status.ToString(), ")"));
      ran.final_message.clear();
    }
    FillResult(call.request_id, ran, result);
    if (reply.ByteSizeLong() > kMaxControllerReceiveBytes) {
      // Sent, it would end the link and every call on it: this call alone
      // gets the error (its outcome is in the journal).
      const size_t bytes = reply.ByteSizeLong();
      ran.status = absl::ResourceExhaustedError(absl::StrCat(
          OversizedMessage("the result of", call.operation->name, bytes),
          "; not sent (the call itself ended ",
          ran.status.ok() ? std::string("ok")
                          : absl::StatusCodeToString(ran.status.code()),
          ")"));
      ran.final_message.clear();
      spdlog::warn("request={}: {}", call.request_id, ran.status.message());
      FillResult(call.request_id, ran, result);
    }
    Send(reply);
    absl::MutexLock lock(&calls_mutex_);
    cancelled_.erase(relayed.call_id());
    --running_;
  }).detach();
}

}  // namespace opsagent
