#ifndef OPSAGENT_CONTROLLER_SERVER_AGENT_LINK_SERVICE_H_
#define OPSAGENT_CONTROLLER_SERVER_AGENT_LINK_SERVICE_H_

#include "controller/enroll/host_enrollment.h"
#include "controller/server/agent_registry.h"
#include "opsagent/v1/controller.grpc.pb.h"

namespace opsagent {

// Where agents dial in. Each link is a callback (reactor) stream, so a
// thousand agents hold no thousand threads. A link is accepted only from a
// host certificate (serverAuth and clientAuth, a DNS name) and only for the
// host name it certifies: an operator certificate cannot register as an
// agent, nor one agent as another. What the hello says besides (roles,
// environment, version) must be short printable text, or the link is
// refused. With a host CA (`enrollment`), a link whose certificate it
// issued takes its roles and environment from the enrollment record, not
// the hello; one whose certificate was revoked is refused; and the agent
// may renew its certificate over the link. Accepted links go into the
// registry until they end, or their certificate expires.
class AgentLinkService final : public v1::AgentLink::CallbackService {
 public:
  // `enrollment` may be null (no host CA).
  AgentLinkService(AgentRegistry* registry, absl::Duration heartbeat,
                   HostEnrollment* enrollment = nullptr)
      : registry_(registry), heartbeat_(heartbeat), enrollment_(enrollment) {}

  grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override;

  AgentRegistry* registry() const { return registry_; }
  absl::Duration heartbeat() const { return heartbeat_; }
  HostEnrollment* enrollment() const { return enrollment_; }

 private:
  AgentRegistry* const registry_;
  const absl::Duration heartbeat_;
  HostEnrollment* const enrollment_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_SERVER_AGENT_LINK_SERVICE_H_
