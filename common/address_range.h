#ifndef OPSAGENT_COMMON_ADDRESS_RANGE_H_
#define OPSAGENT_COMMON_ADDRESS_RANGE_H_

#include <sys/socket.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// An IP address or network from a configuration ("10.1.2.3",
// "10.0.0.0/24", "fd00::/64") that a listener matches its peers against:
// the senders the alert intake admits, the networks the controller vouches
// for. A peer seen as IPv4-mapped IPv6 (::ffff:10.1.2.3, how a dual-stack
// listener sees IPv4) is matched as the IPv4 address it is.
class AddressRange {
 public:
  // Fails, quoting `text` and saying what is wrong, unless it is an address
  // with an optional prefix length no longer than the address, with no bits
  // set past the prefix ("10.1.2.3/8" is a typo, not 10.0.0.0/8), and not
  // IPv4-mapped IPv6 (which would never match: write IPv4 as IPv4).
  static absl::StatusOr<AddressRange> Parse(absl::string_view text);

  // Whether `address` (AF_INET or AF_INET6; anything else never matches) is
  // in the range.
  bool Contains(const sockaddr* address) const;

  int family() const { return family_; }
  int prefix_length() const { return prefix_length_; }

 private:
  AddressRange() = default;

  int family_ = AF_INET;
  unsigned char bytes_[16] = {};
  int prefix_length_ = 0;
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_ADDRESS_RANGE_H_
