#include "common/http/http_listener.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/trusted_path.h"

namespace opsagent {
namespace {

constexpr int kIoTimeoutSeconds = 5;
constexpr int kRequestsPerConnection = 10;

absl::Status SplitAddress(const std::string& address, std::string* host,
                          int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 ||
      *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", address, "\" is not HOST:PORT (e.g. 127.0.0.1:9464)"));
  }
  absl::string_view name(address.data(), colon);
  if (absl::ConsumePrefix(&name, "[")) absl::ConsumeSuffix(&name, "]");
  *host = std::string(name);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(
    const HttpListenerOptions& options,
    const std::function<void(httplib::Server&)>& routes) {
  std::string host;
  int port = 0;
  if (absl::Status status = SplitAddress(options.address, &host, &port);
      !status.ok())
    return status;
  std::unique_ptr<httplib::Server> server;
  if (options.certificate.empty()) {
    server = std::make_unique<httplib::Server>();
  } else {
    for (const std::string* file :
         {&options.certificate, &options.private_key, &options.client_ca}) {
      if (file->empty()) continue;
      if (absl::Status trusted = CheckTrustedPath(*file, TrustedKind::kFile);
          !trusted.ok())
        return trusted;
    }
    auto tls = std::make_unique<httplib::SSLServer>(
        options.certificate.c_str(), options.private_key.c_str(),
        options.client_ca.empty() ? nullptr : options.client_ca.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot serve HTTPS with certificate ",
                       options.certificate, " and key ", options.private_key,
                       options.client_ca.empty()
                           ? ""
                           : absl::StrCat(" and client CA ", options.client_ca),
                       " (unreadable, not PEM, or the key does not match)"));
    }
    SSL_CTX_set_min_proto_version(tls->ssl_context(), TLS1_2_VERSION);
    server = std::move(tls);
  }
  const int threads = options.threads;
  server->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server->set_payload_max_length(options.max_body_bytes);
  server->set_read_timeout(kIoTimeoutSeconds, 0);
  server->set_write_timeout(kIoTimeoutSeconds, 0);
  server->set_keep_alive_timeout(kIoTimeoutSeconds);
  server->set_keep_alive_max_count(kRequestsPerConnection);
  routes(*server);
  std::unique_ptr<HttpListener> listener(new HttpListener(std::move(server)));
  if (port == 0) {
    listener->port_ = listener->server_->bind_to_any_port(host);
  } else if (listener->server_->bind_to_port(host, port)) {
    listener->port_ = port;
  }
  if (listener->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.address,
                     " (address in use, or not an address of this host?)"));
  }
  httplib::Server* serving = listener->server_.get();
  listener->thread_ = std::thread([serving] { serving->listen_after_bind(); });
  // stop() is a no-op until the loop runs: wait for it, so that a listener
  // destroyed at once still stops.
  while (!serving->is_running()) absl::SleepFor(absl::Milliseconds(1));
  return listener;
}

HttpListener::~HttpListener() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace opsagent
