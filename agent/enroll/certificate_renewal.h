#ifndef OPSAGENT_AGENT_ENROLL_CERTIFICATE_RENEWAL_H_
#define OPSAGENT_AGENT_ENROLL_CERTIFICATE_RENEWAL_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "opsagent/v1/agent_config.pb.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// When and how an enrolled agent renews its certificate over its link: at
// two thirds of the certificate's life it makes a fresh key and sends a
// request (Due); the controller's answer is checked and installed
// (Finish), after which the server, the link's next connection and the
// result signer take the new files up by themselves (they watch them), so
// nothing restarts and no call is dropped. A refusal or a silent
// controller is tried again a minute on; the key of a request not answered
// is dropped when the next is made. Thread-safe.
class CertificateRenewal {
 public:
  explicit CertificateRenewal(const v1::AgentConfig& config)
      : config_(config) {}

  // The request to send now, if one is due at `now` and none is waiting.
  std::optional<v1::AgentMessage> Due(absl::Time now);
  // Installs what the controller answered to the request sent last.
  absl::Status Finish(const v1::CertificateRenewed& answer, absl::Time now);

  // When the certificate on disk is renewed: two thirds into its life.
  absl::StatusOr<absl::Time> RenewalTime() const;

 private:
  const v1::AgentConfig& config_;
  absl::Mutex mutex_;
  // The key of the request waiting for its answer (empty: none).
  std::string pending_key_ ABSL_GUARDED_BY(mutex_);
  absl::Time sent_at_ ABSL_GUARDED_BY(mutex_);
  absl::Time not_before_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_ENROLL_CERTIFICATE_RENEWAL_H_
