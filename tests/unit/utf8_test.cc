#include "common/utf8.h"

#include <string>

#include "common/proto_utf8.h"
#include "gtest/gtest.h"
#include "opsagent/v1/controller.pb.h"

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

// Stored text someone edited is made UTF-8 before Protobuf carries it, in
// every string field, nested and repeated ones too; good text is kept.
TEST(Utf8Test, InvalidBytesInAMessageBecomeReplacementCharacters) {
  EXPECT_EQ(ValidUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(ValidUtf8("a\xff\xc3"), "a\xef\xbf\xbd\xef\xbf\xbd");
  v1::AuditQueryReply reply;
  v1::AuditEntry* entry = reply.add_entries();
  entry->mutable_intent()->set_reason("f\xfe");
  entry->mutable_intent()->set_host("web-1");
  v1::Incident incident;
  incident.add_nearest_entries("x\x80");
  incident.add_alerts()->set_labels_json("{\"a\":\"\xff\"}");
  ReplaceInvalidUtf8(&reply);
  ReplaceInvalidUtf8(&incident);
  EXPECT_EQ(reply.entries(0).intent().reason(), "f\xef\xbf\xbd");
  EXPECT_EQ(reply.entries(0).intent().host(), "web-1");
  EXPECT_EQ(incident.nearest_entries(0), "x\xef\xbf\xbd");
  EXPECT_EQ(incident.alerts(0).labels_json(), "{\"a\":\"\xef\xbf\xbd\"}");
  std::string wire;
  EXPECT_TRUE(reply.SerializeToString(&wire));
}

}  // namespace
}  // namespace opsagent
