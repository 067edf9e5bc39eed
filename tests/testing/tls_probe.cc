#include "tests/testing/tls_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace opsagent::testing {
namespace {

std::string OpenSslError() {
  char text[256];
  ERR_error_string_n(ERR_get_error(), text, sizeof(text));
  return text;
}

}  // namespace

struct TlsProbe::State {
  SSL_CTX* context = nullptr;
  SSL_SESSION* session = nullptr;
  ~State() {
    SSL_SESSION_free(session);
    SSL_CTX_free(context);
  }
};

TlsProbe::TlsProbe(std::unique_ptr<State> state) : state_(std::move(state)) {}
TlsProbe::~TlsProbe() = default;

absl::StatusOr<std::unique_ptr<TlsProbe>> TlsProbe::Create(
    const std::string& certificate, const std::string& private_key,
    const std::string& ca, Version version) {
  auto state = std::make_unique<State>();
  state->context = SSL_CTX_new(TLS_client_method());
  const int protocol =
      version == Version::kTls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
  if (state->context == nullptr ||
      SSL_CTX_set_min_proto_version(state->context, protocol) != 1 ||
      SSL_CTX_set_max_proto_version(state->context, protocol) != 1 ||
      SSL_CTX_use_certificate_chain_file(state->context, certificate.c_str()) !=
          1 ||
      SSL_CTX_use_PrivateKey_file(state->context, private_key.c_str(),
                                  SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(state->context, ca.c_str(), nullptr) != 1) {
    return absl::InternalError(
        absl::StrCat("TLS probe set-up: ", OpenSslError()));
  }
  SSL_CTX_set_verify(state->context, SSL_VERIFY_PEER, nullptr);
  // gRPC servers want HTTP/2 negotiated.
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(state->context, kAlpn, sizeof(kAlpn));
  return std::unique_ptr<TlsProbe>(new TlsProbe(std::move(state)));
}

absl::StatusOr<TlsProbe::Handshake> TlsProbe::Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval wait{0, 300 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    const std::string error = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(error);
  }
  SSL* ssl = SSL_new(state_->context);
  SSL_set_fd(ssl, fd);
  if (state_->session != nullptr) SSL_set_session(ssl, state_->session);
  Handshake handshake;
  if (SSL_connect(ssl) != 1) {
    handshake.refused = true;
  } else {
    handshake.resumed = SSL_session_reused(ssl) == 1;
    // TLS 1.3 tickets, and a refusal of the client certificate, follow the
    // handshake; reading processes them, up to the server's first HTTP/2
    // bytes or the receive timeout, whichever comes first.
    char byte;
    const int read = SSL_read(ssl, &byte, 1);
    const int error = SSL_get_error(ssl, read);
    handshake.refused =
        error == SSL_ERROR_SSL || error == SSL_ERROR_ZERO_RETURN;
    if (!handshake.refused) {
      SSL_SESSION_free(state_->session);
      state_->session = SSL_get1_session(ssl);
      SSL_shutdown(ssl);  // closing uncleanly would spoil the session
    }
  }
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  return handshake;
}

}  // namespace opsagent::testing
