#include "controller/server/agent_connection.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/link_limits.h"

namespace opsagent {

AgentConnection::AgentConnection(Info info, Sender send, Closer close)
    : info_(std::move(info)),
      send_(std::move(send)),
      close_(std::move(close)),
      last_seen_(absl::Now()) {}

void AgentConnection::Start(v1::RelayedCall call, absl::Time deadline,
                            Relay relay) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mutex_);
    if (closed_) {
      refused = absl::UnavailableError(
          absl::StrCat(info_.host, " disconnected from the controller"));
    } else {
      const uint64_t id = next_call_id_++;
      call.set_call_id(id);
      call.set_deadline_unix_ms(absl::ToUnixMillis(deadline));
      v1::ControllerMessage message;
      *message.mutable_call() = std::move(call);
      if (message.ByteSizeLong() > kMaxAgentLinkReceiveBytes) {
        // Sent, it would end the link (the agent's gRPC refuses it) and
        // every call on it: this call alone is refused.
        refused = absl::ResourceExhaustedError(
            absl::StrCat("the relayed request is ", message.ByteSizeLong(),
                         " bytes, over the ", kMaxAgentLinkReceiveBytes,
                         " bytes ", info_.host,
                         "'s link takes in one message; not sent (shorten its "
                         "parameters, reason or incident)"));
      } else {
        // Registered before it is sent: the result may come back at once.
        pending_.emplace(id, Pending{deadline, relay});
        if (!send_(std::move(message))) {
          pending_.erase(id);
          refused = absl::UnavailableError(
              absl::StrCat("the link to ", info_.host, " is closing"));
        }
      }
    }
  }
  if (!refused.ok()) relay.on_done(refused, "", {});
}

void AgentConnection::OnEvent(const v1::RelayedEvent& event) {
  std::function<void(std::string)> on_event;
  {
    absl::MutexLock lock(&mutex_);
    last_seen_ = absl::Now();
    auto it = pending_.find(event.call_id());
    if (it == pending_.end()) return;
    on_event = it->second.relay.on_event;
  }
  if (on_event) on_event(event.message());
}

void AgentConnection::OnResult(const v1::RelayedResult& result) {
  Relay relay;
  {
    absl::MutexLock lock(&mutex_);
    last_seen_ = absl::Now();
    auto it = pending_.find(result.call_id());
    if (it == pending_.end()) return;  // expired already
    relay = std::move(it->second.relay);
    pending_.erase(it);
  }
  relay.on_done(
      absl::Status(static_cast<absl::StatusCode>(result.status().code()),
                   result.status().message()),
      result.final_message(), result.signature());
}

void AgentConnection::OnHeard() {
  absl::MutexLock lock(&mutex_);
  last_seen_ = absl::Now();
}

void AgentConnection::OnClosed() {
  absl::flat_hash_map<uint64_t, Pending> lost;
  {
    absl::MutexLock lock(&mutex_);
    closed_ = true;
    lost.swap(pending_);
  }
  for (auto& [id, pending] : lost) {
    pending.relay.on_done(
        absl::UnavailableError(absl::StrCat(
            "the link to ", info_.host,
            " was lost before its result came back; it may have acted")),
        "", {});
  }
}

void AgentConnection::ExpireCalls(absl::Time now) {
  std::vector<Relay> expired;
  {
    absl::MutexLock lock(&mutex_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      v1::ControllerMessage cancel;
      cancel.mutable_cancel()->set_call_id(it->first);
      if (!closed_) send_(std::move(cancel));
      expired.push_back(std::move(it->second.relay));
      pending_.erase(it++);
    }
  }
  for (Relay& relay : expired) {
    relay.on_done(absl::DeadlineExceededError(absl::StrCat(
                      "no result from ", info_.host,
                      " by the deadline; it was asked to stop, and may have "
                      "acted")),
                  "", {});
  }
}

void AgentConnection::SendHeartbeat() {
  absl::MutexLock lock(&mutex_);
  if (closed_) return;
  v1::ControllerMessage beat;
  beat.mutable_heartbeat()->set_sent_unix_ms(absl::ToUnixMillis(absl::Now()));
  send_(std::move(beat));
}

void AgentConnection::Close(const std::string& reason) {
  {
    absl::MutexLock lock(&mutex_);
    if (closed_) return;
  }
  close_(reason);
}

absl::Time AgentConnection::last_seen() const {
  absl::MutexLock lock(&mutex_);
  return last_seen_;
}

bool AgentConnection::closed() const {
  absl::MutexLock lock(&mutex_);
  return closed_;
}

AgentConnection::Certificate AgentConnection::certificate() const {
  absl::MutexLock lock(&mutex_);
  return certificate_;
}

void AgentConnection::set_certificate(Certificate certificate) {
  absl::MutexLock lock(&mutex_);
  certificate_ = std::move(certificate);
}

}  // namespace opsagent
