#ifndef OPSAGENT_COMMON_HTTP_HTTP_LISTENER_H_
#define OPSAGENT_COMMON_HTTP_HTTP_LISTENER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

struct MHD_Daemon;

namespace opsagent {

inline constexpr size_t kMaxQueryArguments = 16;

// A request as the listener hands it over.
struct HttpRequest {
  std::string method;
  std::string path;
  std::string authorization;  // the Authorization header, "" if none
  // The query's arguments, decoded, in order; at most kMaxQueryArguments
  // (more are left out).
  std::vector<std::pair<std::string, std::string>> query;
  std::string body;  // empty while screening
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// How an HttpListener serves.
struct HttpListenerOptions {
  std::string address;  // "127.0.0.1:9464", "[::1]:9464"; port 0 picks one
  // HTTPS (TLS 1.2 or 1.3) when set: PEM certificate and key files. The key
  // must be readable by this process alone.
  std::string certificate;
  std::string private_key;
  // Bodies larger than this are refused with 413, whatever their framing
  // (Content-Length or chunked); 0 accepts none.
  size_t max_body_bytes = 1 << 20;
  // Connections held at once; more are refused as they arrive, so the
  // listener never holds more descriptors than this.
  unsigned connection_limit = 256;
  // Connections from one address still in their TLS handshake and headers
  // (half of connection_limit in all): over it, the oldest of them is cut,
  // not the new one, so slow connections cannot keep a prompt request out
  // (UnfinishedConnections).
  unsigned per_address_limit = 16;
  // If not empty, only these peers ("10.1.2.3", "10.0.0.0/8", "::1",
  // "fd00::/8") may connect; others are closed at accept, before TLS.
  std::vector<std::string> allowed_peers;
  // Called once a request's line and headers are in, before any body is
  // read (a request without the token is refused without reading it); a
  // response answers and closes the connection.
  std::function<std::optional<HttpResponse>(const HttpRequest& head)> screen;
  // Called with the whole body.
  std::function<HttpResponse(const HttpRequest& request)> handle;
  // Told the status of every answer sent, the listener's own 413s too.
  std::function<void(int status)> answered;
};

// A small HTTP(S) server for what is not gRPC: the Prometheus scrape
// endpoint and the alert webhook. Built on GNU libmicrohttpd (Debian's
// libmicrohttpd12, TLS through GnuTLS): event-driven, so a connection that
// trickles bytes holds a descriptor but no thread; each connection's
// request line and headers live in a fixed 32 KiB budget (more is refused
// with 431) and must be in (TLS handshake included) within 3 s of accept,
// however steadily they trickle; after that a connection idle for 10 s is
// closed. One request per connection ("Connection: close"). Stops on
// destruction, after the calls in progress return. Thread-safe.
class HttpListener {
 public:
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(
      const HttpListenerOptions& options);
  ~HttpListener();

  int port() const { return port_; }

  // For the C callbacks.
  struct Served;

 private:
  HttpListener() = default;

  std::unique_ptr<Served> served_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_HTTP_HTTP_LISTENER_H_
