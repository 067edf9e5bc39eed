#include "common/address_range.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace opsagent {

absl::StatusOr<AddressRange> AddressRange::Parse(absl::string_view text) {
  AddressRange range;
  const bool v6 = text.find(':') != absl::string_view::npos;
  range.family_ = v6 ? AF_INET6 : AF_INET;
  range.prefix_length_ = v6 ? 128 : 32;
  absl::string_view address = text;
  if (const size_t slash = text.find('/'); slash != absl::string_view::npos) {
    address = text.substr(0, slash);
    const absl::string_view length = text.substr(slash + 1);
    int prefix_length = -1;
    // Digits only: SimpleAtoi would also take "+8" and " 8".
    if (length.empty() || length.size() > 3 ||
        length.find_first_not_of("0123456789") != absl::string_view::npos ||
        !absl::SimpleAtoi(length, &prefix_length) ||
        prefix_length > range.prefix_length_)
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\": the prefix length must be 0 to ",
                       range.prefix_length_));
    range.prefix_length_ = prefix_length;
  }
  if (inet_pton(range.family_, std::string(address).c_str(), range.bytes_) != 1)
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not an IP address or range (10.0.0.0/8, fd00::/8)"));
  // "10.1.2.3/8" would silently stand for all of 10.0.0.0/8: a typo, most
  // likely, so it is refused rather than widened.
  const int address_bits = range.family_ == AF_INET ? 32 : 128;
  for (int bit = range.prefix_length_; bit < address_bits; ++bit) {
    if (range.bytes_[bit / 8] & (0x80 >> (bit % 8)))
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", text, "\" has address bits set past its /",
          range.prefix_length_, " prefix; write the network's own address"));
  }
  // Peers that come IPv4-mapped are matched as IPv4, so such a range could
  // never match: IPv4 is written as IPv4.
  static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                                      0, 0, 0, 0, 0xff, 0xff};
  if (range.family_ == AF_INET6 && range.prefix_length_ >= 96 &&
      std::memcmp(range.bytes_, kMappedPrefix, sizeof(kMappedPrefix)) == 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text,
        "\" is IPv4-mapped IPv6: write IPv4 addresses as IPv4 (10.0.0.0/8)"));
  return range;
}

bool AddressRange::Contains(const sockaddr* address) const {
  const unsigned char* bytes = nullptr;
  int family = address->sa_family;
  if (family == AF_INET) {
    bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
  } else if (family == AF_INET6) {
    const in6_addr& v6 =
        reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    bytes = v6.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      family = AF_INET;
      bytes += 12;
    }
  }
  if (bytes == nullptr || family != family_) return false;
  const int whole = prefix_length_ / 8;
  if (std::memcmp(bytes_, bytes, whole) != 0) return false;
  const int rest = prefix_length_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (bytes_[whole] & mask) == (bytes[whole] & mask);
}

}  // namespace opsagent
