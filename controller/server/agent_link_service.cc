#include "controller/server/agent_link_service.h"

#include <deque>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/connection_guard.h"
#include "common/host_text.h"
#include "common/logging.h"
#include "common/tls/certificate_info.h"
#include "common/tls/host_certificate.h"
#include "grpc/grpc_security_constants.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr size_t kMaxHelloText = 256;
constexpr int kMaxHelloRoles = 64;

// The peer's certificate, if it is a host certificate.
absl::StatusOr<CertificateInfo> HostCertificateOf(
    const grpc::CallbackServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  std::vector<grpc::string_ref> pem =
      auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (!auth->IsPeerAuthenticated() || pem.empty())
    return absl::UnauthenticatedError("no verified client certificate");
  absl::StatusOr<CertificateInfo> cert = ParseCertificatePem(
      absl::string_view(pem.front().data(), pem.front().size()));
  if (!cert.ok()) return cert.status();
  if (!cert->server_auth || !cert->client_auth || cert->dns_names.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the certificate of \"", TerminalSafe(cert->common_name),
        "\" is not a host certificate (it needs serverAuth, clientAuth and a "
        "DNS name): an operator certificate cannot register as an agent"));
  }
  return cert;
}

absl::Status CheckHelloText(absl::string_view field, absl::string_view text) {
  if (text.size() > kMaxHelloText || !IsPrintableText(text)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the hello's ", field, " is not short printable text: \"",
                     TerminalSafe(text.substr(0, 64)), "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckHello(const v1::AgentHello& hello) {
  if (absl::Status s = CheckHelloText("environment", hello.environment());
      !s.ok())
    return s;
  if (absl::Status s = CheckHelloText("agent_version", hello.agent_version());
      !s.ok())
    return s;
  if (hello.roles_size() > kMaxHelloRoles)
    return absl::InvalidArgumentError("the hello names too many roles");
  for (const std::string& role : hello.roles()) {
    if (absl::Status s = CheckHelloText("role", role); !s.ok()) return s;
  }
  return absl::OkStatus();
}

class LinkReactor;

// How the connection reaches its stream: only while the stream lives.
struct LinkHandle {
  absl::Mutex mutex;
  LinkReactor* reactor ABSL_GUARDED_BY(mutex) = nullptr;
};

// One agent's stream. Reads one message at a time; writes are queued and
// sent one at a time (the callback API allows one outstanding write).
class LinkReactor final
    : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage> {
 public:
  LinkReactor(AgentLinkService* service, grpc::CallbackServerContext* context)
      : service_(service),
        context_(context),
        handle_(std::make_shared<LinkHandle>()) {
    {
      absl::MutexLock lock(&handle_->mutex);
      handle_->reactor = this;
    }
    absl::StatusOr<CertificateInfo> cert = HostCertificateOf(*context);
    if (!cert.ok()) {
      spdlog::warn("refused an agent link from {}: {}", context->peer(),
                   cert.status().message());
      FinishOnce(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                              std::string(cert.status().message())));
      return;
    }
    certificate_ = *std::move(cert);
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      FinishOnce(grpc::Status::OK);
      return;
    }
    if (connection_ == nullptr) {
      if (!Accept()) return;
    } else {
      switch (in_.kind_case()) {
        case v1::AgentMessage::kEvent:
          connection_->OnEvent(in_.event());
          break;
        case v1::AgentMessage::kResult:
          connection_->OnResult(in_.result());
          break;
        case v1::AgentMessage::kRenew:
          Renew(in_.renew().csr_pem());
          break;
        default:  // a heartbeat
          connection_->OnHeard();
          VouchForPeer(context_->peer());
          break;
      }
    }
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    bool more;
    const v1::ControllerMessage* next = nullptr;
    {
      absl::MutexLock lock(&mutex_);
      queue_.pop_front();
      if (!ok) {
        closing_ = true;
        queue_.clear();
      }
      more = !queue_.empty();
      if (more) {
        next = &queue_.front();
      } else {
        writing_ = false;
      }
    }
    if (more) StartWrite(next);
  }

  void OnCancel() override {
    std::string reason;
    {
      absl::MutexLock lock(&mutex_);
      reason = close_reason_;
    }
    FinishOnce(reason.empty()
                   ? grpc::Status::CANCELLED
                   : grpc::Status(grpc::StatusCode::UNAVAILABLE, reason));
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&handle_->mutex);
      handle_->reactor = nullptr;
    }
    if (connection_ != nullptr) {
      service_->registry()->Remove(connection_.get());
      connection_->OnClosed();
      spdlog::info("{} disconnected ({})", connection_->info().host,
                   context_->peer());
    }
    delete this;
  }

 private:
  bool Accept() {
    const std::string peer = context_->peer();
    absl::Status refused;
    if (!in_.has_hello()) {
      refused = absl::InvalidArgumentError("the first message must be hello");
    } else if (absl::Status name =
                   CheckHostCertificate(certificate_, in_.hello().hostname());
               !name.ok()) {
      refused = absl::PermissionDeniedError(absl::StrCat(
          "the agent says it is \"", TerminalSafe(in_.hello().hostname()),
          "\", which its certificate does not certify: ", name.message()));
    } else {
      refused = CheckHello(in_.hello());
    }
    std::optional<HostCertificateRecord> enrolled;
    if (HostEnrollment* enrollment = service_->enrollment();
        refused.ok() && enrollment != nullptr) {
      absl::StatusOr<std::optional<HostCertificateRecord>> known =
          enrollment->CheckLinkCertificate(certificate_.serial_hex);
      if (known.ok()) {
        enrolled = *std::move(known);
      } else {
        refused = known.status();
      }
    }
    if (!refused.ok()) {
      spdlog::warn("refused an agent link from {}: {}", peer,
                   refused.message());
      FinishOnce(grpc::Status(static_cast<grpc::StatusCode>(refused.code()),
                              std::string(refused.message())));
      return false;
    }
    const v1::AgentHello& hello = in_.hello();
    AgentConnection::Info info;
    // An enrolled host by the name its certificate was issued for.
    info.host = enrolled ? enrolled->host : hello.hostname();
    info.address = peer;
    if (enrolled) {
      // What it was enrolled as, not what it says now.
      info.roles = enrolled->roles;
      info.environment = enrolled->environment;
    } else {
      info.roles.assign(hello.roles().begin(), hello.roles().end());
      info.environment = hello.environment();
    }
    info.version = hello.agent_version();
    info.connected_since = absl::Now();
    std::shared_ptr<LinkHandle> handle = handle_;
    connection_ = std::make_shared<AgentConnection>(
        std::move(info),
        [handle](v1::ControllerMessage message) {
          absl::MutexLock lock(&handle->mutex);
          return handle->reactor != nullptr &&
                 handle->reactor->Queue(std::move(message));
        },
        [handle](const std::string& reason) {
          absl::MutexLock lock(&handle->mutex);
          if (handle->reactor != nullptr) handle->reactor->RequestClose(reason);
        });
    connection_->set_certificate(
        {certificate_.serial_hex, certificate_.not_after});
    if (absl::Status added = service_->registry()->Add(connection_);
        !added.ok()) {
      spdlog::warn("refused an agent link from {}: {}", peer, added.message());
      connection_->OnClosed();
      connection_.reset();
      FinishOnce(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              std::string(added.message())));
      return false;
    }
    v1::ControllerMessage accepted;
    accepted.mutable_accepted()->set_heartbeat_seconds(
        static_cast<uint32_t>(absl::ToInt64Seconds(service_->heartbeat())));
    Queue(std::move(accepted));
    // Its address gets room beside strangers' (agents share NAT addresses).
    VouchForPeer(peer);
    spdlog::info("{} connected from {} (agent {})", hello.hostname(), peer,
                 hello.agent_version());
    return true;
  }

 public:
  // False once the link is closing.
  bool Queue(v1::ControllerMessage message) {
    const v1::ControllerMessage* first;
    {
      absl::MutexLock lock(&mutex_);
      if (closing_) return false;
      queue_.push_back(std::move(message));
      if (writing_) return true;
      writing_ = true;
      // The front stays put until its write is done.
      first = &queue_.front();
    }
    StartWrite(first);
    return true;
  }

  // A renewal of the host's certificate, answered when the host CA is done
  // (on its thread): the link then holds the new certificate's serial and
  // expiry.
  void Renew(const std::string& csr_pem) {
    std::shared_ptr<LinkHandle> handle = handle_;
    HostEnrollment* enrollment = service_->enrollment();
    if (enrollment == nullptr) {
      v1::ControllerMessage refused;
      refused.mutable_renewed()->mutable_status()->set_code(
          grpc::StatusCode::FAILED_PRECONDITION);
      refused.mutable_renewed()->mutable_status()->set_message(
          "this controller has no host CA (host_ca in opsctld's "
          "configuration): its certificates are renewed by hand");
      Queue(std::move(refused));
      return;
    }
    // One request a minute per link: the agent asks once, and again a
    // minute after a refusal; more is refused unwritten.
    bool too_soon;
    {
      absl::MutexLock lock(&mutex_);
      too_soon = absl::Now() - last_renewal_ < absl::Minutes(1);
      if (!too_soon) last_renewal_ = absl::Now();
    }
    if (too_soon) {
      v1::ControllerMessage refused;
      refused.mutable_renewed()->mutable_status()->set_code(
          grpc::StatusCode::RESOURCE_EXHAUSTED);
      refused.mutable_renewed()->mutable_status()->set_message(
          "one renewal a minute per link");
      Queue(std::move(refused));
      return;
    }
    std::weak_ptr<AgentConnection> link = connection_;
    enrollment->RenewLater(
        connection_->info().host, connection_->certificate().serial_hex,
        csr_pem, [handle, link](v1::CertificateRenewed renewed) {
          if (std::shared_ptr<AgentConnection> held = link.lock();
              held != nullptr && renewed.status().code() == 0) {
            absl::StatusOr<CertificateInfo> cert =
                ParseCertificatePem(renewed.certificate_pem());
            if (cert.ok())
              held->set_certificate({cert->serial_hex, cert->not_after});
          }
          v1::ControllerMessage answer;
          *answer.mutable_renewed() = std::move(renewed);
          absl::MutexLock lock(&handle->mutex);
          if (handle->reactor != nullptr)
            handle->reactor->Queue(std::move(answer));
        });
  }

  // Ends the stream from outside its reactions: cancelling it makes gRPC
  // call OnCancel, which finishes it.
  void RequestClose(const std::string& reason) {
    {
      absl::MutexLock lock(&mutex_);
      if (close_reason_.empty()) close_reason_ = reason;
    }
    context_->TryCancel();
  }

 private:
  void FinishOnce(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mutex_);
      if (finished_) return;
      finished_ = true;
      closing_ = true;
    }
    Finish(status);
  }

  AgentLinkService* const service_;
  grpc::CallbackServerContext* const context_;
  CertificateInfo certificate_;
  v1::AgentMessage in_;
  std::shared_ptr<AgentConnection> connection_;
  const std::shared_ptr<LinkHandle> handle_;
  absl::Mutex mutex_;
  std::string close_reason_ ABSL_GUARDED_BY(mutex_);
  std::deque<v1::ControllerMessage> queue_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool closing_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Time last_renewal_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace

grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>*
AgentLinkService::Connect(grpc::CallbackServerContext* context) {
  return new LinkReactor(this, context);
}

}  // namespace opsagent
