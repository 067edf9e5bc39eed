#ifndef OPSAGENT_AGENT_ENROLL_HOST_CERTIFICATE_FILES_H_
#define OPSAGENT_AGENT_ENROLL_HOST_CERTIFICATE_FILES_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "opsagent/v1/agent_config.pb.h"

namespace opsagent {

// The agent's own key and certificate files (tls.private_key,
// tls.certificate) as enrollment and renewal keep them.

// Why the agent must enroll before it can serve, if it must: no
// certificate or key, one it cannot read, a key that is not the
// certificate's, a certificate that is not for this host, or one expired
// at `now`.
std::optional<std::string> WhyEnrollmentIsNeeded(const v1::AgentConfig& config,
                                                 absl::Time now);

// Checks what the controller sent for `key_pem` (the key this agent made)
// before it is used: the first certificate of `chain_pem` is for the
// configured host name (CheckHostCertificate), certifies `key_pem`, and
// chains to tls.ca_certificate through the others, as a server's and a
// client's. Then writes the key (0600) and the chain (0644): both are
// staged before either is replaced (ReplaceFiles), so a full disk leaves
// the old pair; only a crash between the two renames leaves a key that is
// not the certificate's, which the next start takes as "enroll again".
absl::Status InstallHostCertificate(const v1::AgentConfig& config,
                                    absl::string_view key_pem,
                                    absl::string_view chain_pem);

// Where the certificates this host renewed from are kept (newest first, at
// most 64): beside tls.certificate, as ".earlier". The journal's reader
// checks results signed before a renewal with them.
std::string EarlierCertificatesPath(const v1::AgentConfig& config);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_ENROLL_HOST_CERTIFICATE_FILES_H_
