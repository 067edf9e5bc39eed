#ifndef OPSAGENT_CONTROLLER_ENROLL_ENROLLMENT_TOKEN_H_
#define OPSAGENT_CONTROLLER_ENROLL_ENROLLMENT_TOKEN_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// An enrollment token as its holder writes it: "ID.SECRET". The id (12 hex
// digits) names the token in lists and the log; the secret (32 random
// bytes, base64url) is what proves it, and the controller keeps only its
// SHA-256.
struct TokenText {
  std::string id;
  std::string secret;

  std::string ToString() const { return id + "." + secret; }
  // SHA-256 (hex) of the secret: what the controller stores and compares.
  std::string SecretDigest() const;
};

// A new token, from the system's random source.
absl::StatusOr<TokenText> NewTokenText();

// Parses "ID.SECRET" (surrounding white space, as in a file, is dropped).
// INVALID_ARGUMENT without saying more than its shape is wrong.
absl::StatusOr<TokenText> ParseTokenText(absl::string_view text);

// Checks what `opsctl enroll token create` asks for (roles, environment,
// name patterns, uses, lifetimes) before anything is stored; INVALID_ARGUMENT
// naming the field. `max_certificate_seconds` bounds certificate_seconds.
absl::Status CheckTokenRequest(const v1::EnrollmentTokenRequest& request,
                               uint32_t max_certificate_seconds);

// Whether `host` (a DNS host name) matches one of `patterns`: a pattern
// without a dot is matched against the first label only, one with dots
// against the whole name; * and ? never cross a dot; letter case is
// ignored.
bool HostNameAllowed(
    const google::protobuf::RepeatedPtrField<std::string>& patterns,
    absl::string_view host);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ENROLL_ENROLLMENT_TOKEN_H_
