#ifndef OPSAGENT_COMMON_HTTP_HTTPS_CLIENT_H_
#define OPSAGENT_COMMON_HTTP_HTTPS_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace opsagent {

// One outgoing HTTP request and its answer, for what opsctld calls
// (Alertmanager's API, chat webhooks): libcurl (GnuTLS'), HTTPS with the
// server's certificate and name verified, no redirects followed, no proxy
// from the environment, a deadline, and an answer read up to a bound. Plain
// HTTP only to a loopback address. Thread-safe; each call is one
// connection.
struct OutgoingRequest {
  std::string method;  // "GET", "POST", "DELETE"
  std::string url;
  std::string body;  // sent as application/json when not empty
  // "Authorization: Bearer TOKEN" when set.
  std::string bearer_token;
};

struct OutgoingReply {
  int status = 0;
  std::string body;  // at most HttpsClientOptions.max_reply_bytes
};

struct HttpsClientOptions {
  // PEM CA certificates the server's must chain to; "" for the system's.
  std::string ca_file;
  absl::Duration timeout = absl::Seconds(10);
  size_t max_reply_bytes = 1 << 20;
};

// Whether `url` is one opsctld may call: https://HOST[:PORT][/PATH], or
// http:// to 127.0.0.1, [::1] or localhost. INVALID_ARGUMENT says why not.
absl::Status CheckOutgoingUrl(absl::string_view url);

// Sends `request`; the reply whatever its status. UNAVAILABLE (with curl's
// reason) when no answer came: refused, timed out, a certificate not
// trusted. INVALID_ARGUMENT for a URL CheckOutgoingUrl refuses.
absl::StatusOr<OutgoingReply> SendHttpsRequest(
    const OutgoingRequest& request, const HttpsClientOptions& options);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_HTTP_HTTPS_CLIENT_H_
