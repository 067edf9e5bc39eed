#include "common/human_size.h"

#include "gtest/gtest.h"

namespace opsagent {
namespace {

TEST(HumanSizeTest, FormatsLikeCoreutils) {
  EXPECT_EQ(FormatHumanSize(0), "0B");
  EXPECT_EQ(FormatHumanSize(1023), "1023B");
  EXPECT_EQ(FormatHumanSize(1024), "1.0K");
  EXPECT_EQ(FormatHumanSize(4096), "4.0K");
  EXPECT_EQ(FormatHumanSize(1025), "1.1K");  // rounded up, never under-reported
  EXPECT_EQ(FormatHumanSize(10 * 1024), "10K");
  EXPECT_EQ(FormatHumanSize(120ull << 20), "120M");
  EXPECT_EQ(FormatHumanSize(8053063680ull), "7.5G");
  EXPECT_EQ(FormatHumanSize(1023ull << 20), "1023M");
  EXPECT_EQ(FormatHumanSize((1024ull << 20) - 1), "1.0G");
  EXPECT_EQ(FormatHumanSize(20ull << 40), "20T");
}

TEST(HumanSizeTest, ParsesSizesWithUnits) {
  EXPECT_EQ(*ParseHumanSize("4096"), 4096u);
  EXPECT_EQ(*ParseHumanSize("512K"), 512u << 10);
  EXPECT_EQ(*ParseHumanSize("1.5G"), 3ull << 29);
  EXPECT_EQ(*ParseHumanSize("2GiB"), 2ull << 30);
  EXPECT_EQ(*ParseHumanSize(" 10m "), 10u << 20);
  EXPECT_EQ(*ParseHumanSize("7B"), 7u);
}

TEST(HumanSizeTest, RejectsWhatIsNotASize) {
  for (const char* bad :
       {"", "G", "-1M", "1X", "ten", "1e400", "nanM", "99999999999T"}) {
    EXPECT_FALSE(ParseHumanSize(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseHumanSize("1X").status().message(),
            "size \"1X\": unknown unit 'X' (use B, K, M, G or T)");
}

}  // namespace
}  // namespace opsagent
