#include "tests/testing/connection_flood.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace opsagent::testing {
namespace {

// A TLS 1.2 record header announcing a ClientHello, and its first bytes.
constexpr unsigned char kPartialClientHello[] = {0x16, 0x03, 0x01, 0x02, 0x00,
                                                 0x01, 0x00, 0x01, 0xfc, 0x03};

void RaiseDescriptorLimit(rlim_t needed) {
  rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur >= needed) return;
  limit.rlim_cur = std::min<rlim_t>(needed, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

ConnectionFlood::ConnectionFlood(int port, int sources, int per_source,
                                 Kind kind, uint32_t first_source) {
  RaiseDescriptorLimit(static_cast<rlim_t>(sources) * per_source + 256);
  for (int source = 0; source < sources; ++source) {
    sockaddr_in from = {};
    from.sin_family = AF_INET;
    // 127.0.N.M from the first on.
    from.sin_addr.s_addr =
        htonl(first_source + (1u << 8) * (source / 250) + source % 250);
    sockaddr_in to = {};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < per_source; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        ++failures_[absl::StrCat("socket: ", std::strerror(errno))];
        return;
      }
      if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) {
        ++failures_[absl::StrCat("bind: ", std::strerror(errno))];
        close(fd);
        continue;
      }
      if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
        if (errno == ECONNRESET)
          ++reset_while_connecting_;
        else
          ++failures_[absl::StrCat("connect: ", std::strerror(errno))];
        close(fd);
        continue;
      }
      if (kind == Kind::kPartialHandshake)
        send(fd, kPartialClientHello, sizeof(kPartialClientHello),
             MSG_NOSIGNAL);
      sockets_.push_back(fd);
    }
  }
}

ConnectionFlood::~ConnectionFlood() { End(); }

std::string ConnectionFlood::failures() const {
  std::vector<std::string> parts;
  for (const auto& [what, count] : failures_)
    parts.push_back(absl::StrCat(count, " x ", what));
  return absl::StrJoin(parts, ", ");
}

bool ConnectionFlood::Closed(int fd) const {
  if (reset_.contains(fd)) return true;
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // The kernel reports a reset once (later reads see EOF): remembered.
  if (n < 0 && errno == ECONNRESET) reset_.insert(fd);
  // n > 0: the server spoke (a TLS alert before it closes, say), still open.
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int ConnectionFlood::ClosedByServer() const {
  int closed = reset_while_connecting_;
  for (int fd : sockets_) closed += Closed(fd);
  return closed;
}

int ConnectionFlood::ResetByServer() const {
  for (int fd : sockets_) Closed(fd);
  return reset_while_connecting_ + static_cast<int>(reset_.size());
}

void ConnectionFlood::End() {
  for (int fd : sockets_) close(fd);
  sockets_.clear();
  reset_.clear();
  reset_while_connecting_ = 0;
}

}  // namespace opsagent::testing
