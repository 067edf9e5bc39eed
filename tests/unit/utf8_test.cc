#include "common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace opsagent {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  for (const char* good : {"", "xqwatcher.log", "caf\xc3\xa9", "\xe2\x82\xac",
                           "\xf0\x9f\x94\xa5", "\xed\x9f\xbf"}) {
    EXPECT_TRUE(IsValidUtf8(good)) << good;
  }
}

TEST(Utf8Test, RejectsMalformedText) {
  for (const char* bad :
       {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "ok\x80", "\xe2\x82"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

}  // namespace
}  // namespace opsagent
