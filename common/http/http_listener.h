#ifndef OPSAGENT_COMMON_HTTP_HTTP_LISTENER_H_
#define OPSAGENT_COMMON_HTTP_HTTP_LISTENER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "httplib.h"

namespace opsagent {

// How an HttpListener serves.
struct HttpListenerOptions {
  std::string address;  // "127.0.0.1:9464"; port 0 picks a free one
  // HTTPS when set: PEM certificate and key; with `client_ca`, a client
  // must present a certificate that chains to it.
  std::string certificate;
  std::string private_key;
  std::string client_ca;
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413
  int threads = 4;                  // connections served at once
};

// A small HTTP(S) server on its own threads, for what is not gRPC: the
// Prometheus scrape endpoint and the alert webhook. Built on cpp-httplib
// (Debian's libcpp-httplib-dev, linked against OpenSSL). A connection idle
// or trickling for 5 seconds is closed, and at most 10 requests share one.
// Stops and joins its threads on destruction.
class HttpListener {
 public:
  // `routes` adds the handlers to the server before it starts.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(
      const HttpListenerOptions& options,
      const std::function<void(httplib::Server&)>& routes);
  ~HttpListener();

  int port() const { return port_; }

 private:
  explicit HttpListener(std::unique_ptr<httplib::Server> server)
      : server_(std::move(server)) {}

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_HTTP_HTTP_LISTENER_H_
