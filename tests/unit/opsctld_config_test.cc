// opsctld's vouched_networks: each must parse, and none may be so wide that
// it vouches for a large part of the Internet (0.0.0.0/0 would switch the
// flood limits off for everyone).

#include "controller/server/opsctld_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<std::vector<AddressRange>> Networks(
    std::initializer_list<const char*> texts) {
  v1::OpsctldConfig config;
  for (const char* text : texts) config.add_vouched_networks(text);
  return VouchedNetworks(config);
}

TEST(OpsctldConfigTest, VouchedNetworksMustParseAndBeNarrowerThanASlash8) {
  absl::StatusOr<std::vector<AddressRange>> fine =
      Networks({"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "fd00::1"});
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_EQ(fine->size(), 4u);
  EXPECT_TRUE(Networks({})->empty());

  EXPECT_THAT(Networks({"10.0.0.0/8", "0.0.0.0/0"}).status().message(),
              HasSubstr("\"0.0.0.0/0\" is wider than a /8"));
  EXPECT_THAT(Networks({"10.0.0.0/7"}).status().message(),
              HasSubstr("\"10.0.0.0/7\" is wider than a /8"));
  EXPECT_THAT(Networks({"2000::/3"}).status().message(),
              HasSubstr("\"2000::/3\" is wider than a /32"));
  EXPECT_THAT(Networks({"::/0"}).status().message(),
              HasSubstr("is wider than a /32"));
  EXPECT_THAT(Networks({"fleet.example/16"}).status().message(),
              HasSubstr("is not an IP address or range"));
}

}  // namespace
}  // namespace opsagent
