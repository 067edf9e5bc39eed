#ifndef OPSAGENT_COMMON_LISTEN_ADDRESS_H_
#define OPSAGENT_COMMON_LISTEN_ADDRESS_H_

#include <string>

#include "absl/time/time.h"

namespace opsagent {

// Waits, up to `patience`, until a listener could bind `address`
// ("127.0.0.1:7443"). After a crash the old process's connections linger on
// the port (FIN_WAIT) for a while; with SO_REUSEPORT off (so that no second
// process can share the port) bind() fails until they are gone. Returns at
// once for an address it cannot parse (gRPC reports those) and when the port
// is free or held for another reason; logs once while it waits.
void WaitUntilBindable(const std::string& address, absl::Duration patience);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_LISTEN_ADDRESS_H_
