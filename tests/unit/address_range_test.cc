// Configured addresses and networks (the alert intake's allowed_senders,
// opsctld's vouched_networks) match exactly the peers they name, IPv4 seen
// through a dual-stack listener included, and anything else in the
// configuration is refused with what is wrong.

#include "common/address_range.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

sockaddr_storage Peer(const char* text) {
  sockaddr_storage address = {};
  if (inet_pton(AF_INET, text,
                &reinterpret_cast<sockaddr_in*>(&address)->sin_addr) == 1) {
    address.ss_family = AF_INET;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text,
                        &reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr),
              1)
        << text;
    address.ss_family = AF_INET6;
  }
  return address;
}

bool Contains(const char* range, const char* peer) {
  absl::StatusOr<AddressRange> parsed = AddressRange::Parse(range);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  const sockaddr_storage address = Peer(peer);
  return parsed.ok() &&
         parsed->Contains(reinterpret_cast<const sockaddr*>(&address));
}

TEST(AddressRangeTest, MatchesExactlyThePeersItNames) {
  EXPECT_TRUE(Contains("10.1.2.3", "10.1.2.3"));
  EXPECT_FALSE(Contains("10.1.2.3", "10.1.2.4"));
  EXPECT_TRUE(Contains("10.0.0.0/8", "10.255.255.255"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "11.0.0.0"));
  // A prefix that ends inside a byte.
  EXPECT_TRUE(Contains("127.0.2.0/25", "127.0.2.127"));
  EXPECT_FALSE(Contains("127.0.2.0/25", "127.0.2.128"));
  EXPECT_TRUE(Contains("2001:db8:5::/48", "2001:db8:5:ffff::1"));
  EXPECT_FALSE(Contains("2001:db8:5::/48", "2001:db8:6::1"));
  // IPv4 through a dual-stack listener is the IPv4 address it is, and never
  // an IPv6 range's.
  EXPECT_TRUE(Contains("10.0.0.0/8", "::ffff:10.9.9.9"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "::ffff:11.9.9.9"));
  EXPECT_FALSE(Contains("::/0", "::ffff:10.9.9.9"));
  EXPECT_FALSE(Contains("::/32", "::ffff:10.9.9.9"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "::a09:909"));  // not mapped
  // Another family never matches.
  sockaddr unix_peer = {};
  unix_peer.sa_family = AF_UNIX;
  EXPECT_FALSE(AddressRange::Parse("0.0.0.0/0")->Contains(&unix_peer));
}

TEST(AddressRangeTest, AnythingElseIsRefusedSayingWhy) {
  for (const char* bad :
       {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10/8", "10.0.0.0/+8",
        "10.0.0.0/ 8", "10.0.0.0/-1", "10.0.0.0/0008"}) {
    absl::StatusOr<AddressRange> range = AddressRange::Parse(bad);
    EXPECT_FALSE(range.ok()) << bad;
  }
  EXPECT_THAT(AddressRange::Parse("10.0.0.0/33").status().message(),
              HasSubstr("the prefix length must be 0 to 32"));
  EXPECT_THAT(AddressRange::Parse("fd00::/129").status().message(),
              HasSubstr("the prefix length must be 0 to 128"));
  for (const char* bad : {"", "host.example", "10.0.0.256", "10.0.0.1 ",
                          "fd00::/64\n", "[fd00::1]", "fd00::1%eth0"}) {
    absl::StatusOr<AddressRange> range = AddressRange::Parse(bad);
    EXPECT_FALSE(range.ok()) << bad;
  }
  EXPECT_THAT(AddressRange::Parse("host.example").status().message(),
              HasSubstr("\"host.example\" is not an IP address or range"));
  // A host's address with a network's prefix is a typo: it is not widened.
  for (const char* typo : {"10.1.2.3/8", "127.0.2.1/25", "fd00::1/64"}) {
    absl::StatusOr<AddressRange> range = AddressRange::Parse(typo);
    ASSERT_FALSE(range.ok()) << typo;
    EXPECT_THAT(range.status().message(), HasSubstr("address bits set past"));
  }
  EXPECT_TRUE(AddressRange::Parse("10.1.2.3/32").ok());
  // IPv4-mapped IPv6 could never match (such peers are matched as IPv4).
  for (const char* mapped :
       {"::ffff:0:0/96", "::ffff:10.0.0.0/104", "::ffff:127.0.0.1"}) {
    absl::StatusOr<AddressRange> range = AddressRange::Parse(mapped);
    ASSERT_FALSE(range.ok()) << mapped;
    EXPECT_THAT(range.status().message(), HasSubstr("write IPv4 addresses"));
  }
}

}  // namespace
}  // namespace opsagent
