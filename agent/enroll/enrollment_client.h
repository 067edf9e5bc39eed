#ifndef OPSAGENT_AGENT_ENROLL_ENROLLMENT_CLIENT_H_
#define OPSAGENT_AGENT_ENROLL_ENROLLMENT_CLIENT_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "opsagent/v1/agent_config.pb.h"

namespace opsagent {

// Enrolls this host with the controller's host CA: makes a key on the host
// (it never leaves it), sends a request for the configured host name with
// the token of enrollment.token_file to enrollment.address, pinning the
// team's CA (tls.ca_certificate) and requiring the controller's
// certificate (controller.name, role "controller"), and installs what comes
// back once it checks out (InstallHostCertificate). The controller's
// refusal (a name outside the token's, a used-up or expired token, a name
// held by a connected host) is returned in its words.
absl::Status EnrollHost(const v1::AgentConfig& config,
                        absl::string_view agent_version);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_ENROLL_ENROLLMENT_CLIENT_H_
