#include "common/http/http_listener.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/address_range.h"
#include "common/http/unfinished_connections.h"
#include "common/json.h"
#include "common/regular_file.h"
#include "common/trusted_path.h"
#include "spdlog/spdlog.h"

namespace opsagent {

struct HttpListener::Served {
  HttpListenerOptions options;
  std::vector<AddressRange> allowed;
  std::unique_ptr<UnfinishedConnections> unfinished;
};

namespace {

// A request's TLS handshake, line and headers must be in this long after
// accept, however steadily they trickle; then the idle timeout applies (a
// body, an answer being written).
constexpr absl::Duration kHeadersDeadline = absl::Seconds(3);
constexpr unsigned kIdleTimeoutSeconds = 10;
constexpr size_t kHeaderBudgetBytes = 32 << 10;
constexpr size_t kMaxPemBytes = 64 << 10;
constexpr unsigned kThreads = 2;

// One request in progress.
struct Exchange {
  HttpRequest request;
  bool too_large = false;
  size_t received = 0;
};

MHD_Result Send(const HttpListenerOptions& options, MHD_Connection* connection,
                const HttpResponse& answer) {
  if (options.answered) options.answered(answer.status);
  MHD_Response* response = MHD_create_response_from_buffer(
      answer.body.size(), const_cast<char*>(answer.body.data()),
      MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                          answer.content_type.c_str());
  for (const auto& [name, value] : answer.headers)
    MHD_add_response_header(response, name.c_str(), value.c_str());
  // One request per connection: a connection cannot be kept open between
  // requests to hold the listener's descriptors.
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  const MHD_Result queued = MHD_queue_response(
      connection, static_cast<unsigned>(answer.status), response);
  MHD_destroy_response(response);
  return queued;
}

HttpResponse Refusal(int status, absl::string_view message) {
  HttpResponse response;
  response.status = status;
  response.body = DumpJson({{"error", std::string(message)}});
  return response;
}

MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                     const char* method, const char* /*version*/,
                     const char* upload_data, size_t* upload_data_size,
                     void** con_cls) {
  auto* served = static_cast<HttpListener::Served*>(cls);
  const HttpListenerOptions& options = served->options;
  auto* exchange = static_cast<Exchange*>(*con_cls);
  if (exchange == nullptr) {
    // The line and headers are in; no body has been read.
    served->unfinished->Finished(connection);
    exchange = new Exchange();
    *con_cls = exchange;
    exchange->request.method = method;
    exchange->request.path = url;
    if (const char* authorization = MHD_lookup_connection_value(
            connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))
      exchange->request.authorization = authorization;
    MHD_get_connection_values(
        connection, MHD_GET_ARGUMENT_KIND,
        [](void* query_ptr, MHD_ValueKind, const char* key,
           const char* value) -> MHD_Result {
          auto* query =
              static_cast<std::vector<std::pair<std::string, std::string>>*>(
                  query_ptr);
          if (query->size() == kMaxQueryArguments) return MHD_NO;
          query->emplace_back(key, value == nullptr ? "" : value);
          return MHD_YES;
        },
        &exchange->request.query);
    if (options.screen) {
      if (std::optional<HttpResponse> refused =
              options.screen(exchange->request))
        return Send(options, connection, *refused);
    }
    const char* length = MHD_lookup_connection_value(
        connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t declared = 0;
    if (length != nullptr && absl::SimpleAtoi(length, &declared) &&
        declared > options.max_body_bytes)
      return Send(options, connection,
                  Refusal(413, absl::StrCat("the body is larger than ",
                                            options.max_body_bytes, " bytes")));
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    exchange->received += *upload_data_size;
    if (exchange->received > options.max_body_bytes) {
      exchange->too_large = true;
      exchange->request.body.clear();
      // A chunked body that goes on and on is cut off, not read to its end.
      if (exchange->received > 4 * options.max_body_bytes + (64 << 10))
        return MHD_NO;
    } else {
      exchange->request.body.append(upload_data, *upload_data_size);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (exchange->too_large)
    return Send(options, connection,
                Refusal(413, absl::StrCat("the body is larger than ",
                                          options.max_body_bytes, " bytes")));
  return Send(options, connection, options.handle(exchange->request));
}

MHD_Result OnAccept(void* cls, const sockaddr* address, socklen_t) {
  const auto& allowed = static_cast<HttpListener::Served*>(cls)->allowed;
  if (allowed.empty()) return MHD_YES;
  for (const AddressRange& range : allowed)
    if (range.Contains(address)) return MHD_YES;
  return MHD_NO;
}

// The address of `address` as bytes, equal for equal addresses (an
// IPv4-mapped IPv6 address as its IPv4 one).
std::string PeerKey(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return std::string(reinterpret_cast<const char*>(&v4->sin_addr), 4);
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    const char* bytes = reinterpret_cast<const char*>(&v6->sin6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) return std::string(bytes + 12, 4);
    return std::string(bytes, 16);
  }
  return "";
}

// Connections are watched from accept until their headers are in
// (OnRequest) or they close: MHD calls this before it closes the socket.
void OnConnection(void* cls, MHD_Connection* connection,
                  void** /*socket_context*/,
                  MHD_ConnectionNotificationCode code) {
  UnfinishedConnections& unfinished =
      *static_cast<HttpListener::Served*>(cls)->unfinished;
  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    unfinished.Finished(connection);
    return;
  }
  const MHD_ConnectionInfo* fd =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  const MHD_ConnectionInfo* address =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (fd == nullptr || address == nullptr || address->client_addr == nullptr)
    return;
  unfinished.Accepted(connection, fd->connect_fd,
                      PeerKey(address->client_addr));
}

void OnCompleted(void* /*cls*/, MHD_Connection* /*connection*/, void** con_cls,
                 MHD_RequestTerminationCode /*why*/) {
  delete static_cast<Exchange*>(*con_cls);
  *con_cls = nullptr;
}

void OnError(void* /*cls*/, const char* format, va_list arguments) {
  char line[512];
  std::vsnprintf(line, sizeof(line), format, arguments);
  spdlog::debug("http: {}",
                std::string(absl::StripTrailingAsciiWhitespace(line)));
}

// "HOST:PORT" or "[HOST]:PORT" as a socket address.
absl::Status ParseAddress(const std::string& address, sockaddr_storage* out,
                          bool* ipv6) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", address, "\" is not HOST:PORT (e.g. 127.0.0.1:9464)"));
  }
  absl::string_view host(address.data(), colon);
  std::memset(out, 0, sizeof(*out));
  if (absl::ConsumePrefix(&host, "[") && absl::ConsumeSuffix(&host, "]")) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *ipv6 = true;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &v6->sin6_addr) == 1)
      return absl::OkStatus();
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(out);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *ipv6 = false;
    if (inet_pton(AF_INET, std::string(host).c_str(), &v4->sin_addr) == 1)
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", address, "\": the host must be an IP address (e.g. 0.0.0.0)"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(
    const HttpListenerOptions& options) {
  sockaddr_storage address;
  bool ipv6 = false;
  if (absl::Status parsed = ParseAddress(options.address, &address, &ipv6);
      !parsed.ok())
    return parsed;
  std::unique_ptr<HttpListener> listener(new HttpListener());
  listener->served_ = std::make_unique<Served>(Served{options, {}, nullptr});
  // Half the descriptors at most for connections still in their handshake
  // and headers, so that MHD's own limit (which refuses new ones) is not
  // reached by them.
  UnfinishedConnections::Limits limits;
  limits.deadline = kHeadersDeadline;
  limits.per_peer = std::max(1u, options.per_address_limit);
  limits.total = std::max(1u, options.connection_limit / 2);
  listener->served_->unfinished =
      std::make_unique<UnfinishedConnections>(limits);
  for (const std::string& peer : options.allowed_peers) {
    absl::StatusOr<AddressRange> range = AddressRange::Parse(peer);
    if (!range.ok()) return range.status();
    listener->served_->allowed.push_back(*range);
  }
  std::string certificate, key;
  const bool tls = !options.certificate.empty();
  if (tls) {
    if (absl::Status trusted =
            CheckTrustedPath(options.certificate, TrustedKind::kFile);
        !trusted.ok())
      return trusted;
    absl::StatusOr<std::string> pem =
        ReadRegularFile(options.certificate, kMaxPemBytes);
    if (!pem.ok()) return pem.status();
    certificate = *std::move(pem);
    absl::StatusOr<std::string> secret =
        ReadSecretFile(options.private_key, kMaxPemBytes);
    if (!secret.ok()) return secret.status();
    key = *std::move(secret);
  }
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  if (tls) flags |= MHD_USE_TLS;
  if (ipv6) flags |= MHD_USE_IPv6;
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_SOCK_ADDR, 0, &address},
      {MHD_OPTION_CONNECTION_LIMIT, options.connection_limit, nullptr},
      // No MHD_OPTION_PER_IP_CONNECTION_LIMIT: it refuses a new connection
      // while the address's slow ones last. UnfinishedConnections caps
      // those instead, cutting the oldest.
      {MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutSeconds, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT,
       static_cast<intptr_t>(kHeaderBudgetBytes), nullptr},
      {MHD_OPTION_THREAD_POOL_SIZE, kThreads, nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&OnCompleted),
       nullptr},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&OnConnection),
       listener->served_.get()},
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&OnError),
       nullptr},
  };
  if (tls) {
    items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, certificate.data()});
    items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, key.data()});
    items.push_back(
        {MHD_OPTION_HTTPS_PRIORITIES, 0,
         const_cast<char*>("NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2")});
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  listener->daemon_ = MHD_start_daemon(
      flags, 0, &OnAccept, listener->served_.get(), &OnRequest,
      listener->served_.get(), MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
  if (listener->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve on ", options.address,
        tls ? " with certificate " + options.certificate + " and its key" : "",
        " (address in use, not an address of this host, or a certificate "
        "and key that are not PEM or do not match)"));
  }
  const MHD_DaemonInfo* bound =
      MHD_get_daemon_info(listener->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  listener->port_ = bound == nullptr ? 0 : bound->port;
  return listener;
}

HttpListener::~HttpListener() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace opsagent
