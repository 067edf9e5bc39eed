// opsctl's one JSON writer: what it prints always parses, and JSON it
// stored is embedded, never spliced in, whatever the stored text became.

#include "common/json.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

TEST(JsonTest, StoredJsonIsEmbeddedAndAnythingElseIsAString) {
  EXPECT_EQ(DumpJson({{"result", EmbeddedJson(R"({"a":[1,2]})")}}),
            R"({"result":{"a":[1,2]}})");
  // Planted text that would splice keys in stays one string.
  const std::string planted = R"({"a":1},"pwned":true,"b":{"c":1})";
  EXPECT_EQ(DumpJson({{"result", EmbeddedJson(planted)}}),
            DumpJson({{"result", planted}}));
  EXPECT_TRUE(EmbeddedJson("[1,2").is_string());
  EXPECT_TRUE(EmbeddedJson("not json").is_string());
}

// A row edited to hold JSON nested 60,000 deep made `opsctl audit --output
// json` overflow its stack (our attack run); such text is kept as a string.
TEST(JsonTest, JsonNestedDeeperThanOpsctlWritesStaysAString) {
  for (const int depth : {65, 60000, 200000}) {
    const std::string deep = std::string(depth, '[') + std::string(depth, ']');
    const nlohmann::ordered_json embedded = EmbeddedJson(deep);
    ASSERT_TRUE(embedded.is_string()) << depth;
    EXPECT_EQ(embedded.get<std::string>().size(), deep.size());
  }
  const std::string shallow = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(EmbeddedJson(shallow).is_array());
  // Brackets inside strings do not count.
  EXPECT_TRUE(EmbeddedJson("[\"" + std::string(100, '[') + "\"]").is_array());
}

TEST(JsonTest, InvalidUtf8AndControlsStillParse) {
  const std::string text =
      DumpJson({{"reason", std::string("a\xff\xfe\x1b\"b")}});
  EXPECT_EQ(text, "{\"reason\":\"a\xef\xbf\xbd\xef\xbf\xbd\\u001b\\\"b\"}");
  EXPECT_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded());
  EXPECT_EQ(JsonString("x\ny"), "\"x\\ny\"");
}

}  // namespace
}  // namespace opsagent
