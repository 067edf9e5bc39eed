#include "common/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace opsagent {

void WaitUntilBindable(const std::string& address, absl::Duration patience) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port == 0)
    return;
  sockaddr_in where{};
  where.sin_family = AF_INET;
  where.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &where.sin_addr) !=
      1)
    return;  // not an IPv4 address: let gRPC resolve and report it
  const absl::Time deadline = absl::Now() + patience;
  bool said = false;
  for (;;) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const bool bound =
        bind(fd, reinterpret_cast<sockaddr*>(&where), sizeof(where)) == 0;
    const int error = errno;
    close(fd);
    if (bound || error != EADDRINUSE || absl::Now() > deadline) return;
    if (!said) {
      spdlog::warn(
          "{} is still held by connections of an earlier run; "
          "waiting for them to close",
          address);
      said = true;
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
}

}  // namespace opsagent
