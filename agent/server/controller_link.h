#ifndef OPSAGENT_AGENT_SERVER_CONTROLLER_LINK_H_
#define OPSAGENT_AGENT_SERVER_CONTROLLER_LINK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agent/enroll/certificate_renewal.h"
#include "agent/ops/operation.h"
#include "agent/server/call_gate.h"
#include "agent/server/operator_certificate_cache.h"
#include "common/signing/result_signature.h"
#include "common/tls/peer_identity.h"
#include "common/tls/server_trust.h"
#include "grpcpp/security/credentials.h"
#include "opsagent/v1/controller.grpc.pb.h"

namespace opsagent {

// The agent's link to one controller (opsctld). It dials out over mutual TLS
// (no inbound port needed), checks that the peer is the controller (its
// certificate names the configured controller name and the role
// "controller"), says who it is, then runs each call the controller relays
// through the same call gate as a direct call. Each relayed call is a
// request the operator signed for this host: its caller is the operator
// whose certificate it carries, verified against this agent's own CA bundle
// and CRLs and read with the same rules as at a TLS handshake, and whose key
// must have signed it within the last minute; the controller's own identity
// grants nothing. A call meant for another host, altered, expired or
// replayed is refused, and journaled. Heartbeats go both ways; a controller
// silent for three intervals is dropped, and so is one whose certificate this
// agent's CRLs revoke (checked when it accepts the link and at every
// heartbeat). The link reconnects with exponential backoff (1 s doubling to the
// configured maximum) and jitter, so that a fleet does not reconnect in one
// wave. An agent with several controllers (`controller` and
// `more_controllers`) runs one link per controller, each on its own threads
// with its own backoff, all into the one call gate (journal, retry and
// replay caches, locks), so that a request id resent through another
// controller is answered from the retry cache. An enrolled agent renews its
// certificate at two thirds of its life (CertificateRenewal) over the one
// link given the renewal. Runs on its own threads until destroyed.
class ControllerLink {
 public:
  // Links to the controller `config` (one of `agent`'s). `trust` (the
  // agent's checked TLS files and chain verifier, refreshed at once when
  // this link installs a renewed certificate), `gate` and `renewal` must
  // outlive the link; `renewal` may be null (this link renews
  // nothing), and must not be given to two links at once.
  static absl::StatusOr<std::unique_ptr<ControllerLink>> Start(
      const AgentEnvironment& agent, const v1::ControllerLink& config,
      ServerTrust& trust, CallGate* gate, CertificateRenewal* renewal);
  ~ControllerLink();

  // Whether the link is up (the controller accepted this agent).
  bool connected() const { return connected_.load(); }
  // The controller's name and address, as configured.
  const std::string& name() const { return config_.name(); }
  const std::string& address() const { return config_.address(); }
  // For the watchdog: OK while the link's thread keeps working (connected,
  // or trying to connect), whether or not the controller is reachable.
  absl::Status CheckAlive(absl::Duration timeout) const;

 private:
  ControllerLink(const AgentEnvironment& agent,
                 const v1::ControllerLink& config, ServerTrust& trust,
                 CallGate* gate, CertificateRenewal* renewal);

  void Run();
  // One connection, from dialing to its end; true if it was accepted.
  bool Session();
  void Serve(const v1::RelayedCall& relayed);
  // Checks a relayed call before it may reach the gate: the operator's
  // certificate against this agent's trust, the request's signature by it,
  // its lifetime, this host as its target and a declared operation; fills
  // `call` in. A refusal is journaled and returned.
  CallResult Verify(const v1::RelayedCall& relayed, Call* call);
  // The controller's certificate (PEM, as its handshake presented it)
  // against this agent's CA bundle and CRLs, as a server's.
  absl::Status CheckController(const std::string& pem) const;
  // Sets `result`'s status and final message from `ran`, signed.
  void FillResult(const std::string& request_id, const CallResult& ran,
                  v1::RelayedResult* result);
  // Writes one message on the current stream (serialized across threads).
  bool Send(const v1::AgentMessage& message);

  const AgentEnvironment& agent_;
  const v1::ControllerLink& config_;  // in agent_.config
  // Refreshed at once when this link renews the certificate.
  ServerTrust& trust_;
  CallGate* const gate_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  // Operators' certificates verified once, until the trust changes.
  OperatorCertificateCache operators_;
  // Signs what this agent answers, with its host key.
  ResultSigner result_signer_;
  // Null unless the agent enrolled and this is the link that renews.
  CertificateRenewal* const renewal_;

  absl::Notification stop_;
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> last_progress_ms_{0};

  absl::Mutex stream_mutex_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(stream_mutex_) = nullptr;
  grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>* stream_
      ABSL_GUARDED_BY(stream_mutex_) = nullptr;
  absl::Mutex write_mutex_;

  absl::Mutex calls_mutex_;
  absl::flat_hash_map<uint64_t, std::shared_ptr<std::atomic<bool>>> cancelled_
      ABSL_GUARDED_BY(calls_mutex_);
  int running_ ABSL_GUARDED_BY(calls_mutex_) = 0;

  std::thread thread_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_CONTROLLER_LINK_H_
