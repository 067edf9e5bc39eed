#include "agent/server/authorizer.h"

#include "common/text_proto_file.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

std::vector<v1::AuthorizationRule> Rules(const std::string& text) {
  v1::AgentConfig config;
  EXPECT_TRUE(ParseTextProto(text, "rules", &config).ok());
  return {config.authorization().begin(), config.authorization().end()};
}

TEST(AuthorizerTest, DeniesByDefault) {
  Authorizer nobody({});
  absl::Status status = nobody.Authorize({"alice", {"oncall"}}, "memory");
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(),
            "alice (oncall) is not allowed to call memory on this agent");
  EXPECT_TRUE(nobody.AllowedOperations({"alice", {"oncall"}}).empty());
}

TEST(AuthorizerTest, GrantsByRoleOrIdentity) {
  Authorizer authorizer(Rules(R"(
    authorization { roles: "oncall" operations: "*" }
    authorization { roles: "viewer" operations: ["info", "memory"] }
    authorization { identities: "prometheus" operations: "filesystems" }
  )"));
  EXPECT_TRUE(authorizer.Authorize({"alice", {"oncall"}}, "disk_usage").ok());
  EXPECT_TRUE(authorizer.Authorize({"victor", {"viewer"}}, "memory").ok());
  EXPECT_FALSE(authorizer.Authorize({"victor", {"viewer"}}, "disk_usage").ok());
  EXPECT_TRUE(authorizer.Authorize({"prometheus", {}}, "filesystems").ok());
  EXPECT_FALSE(authorizer.Authorize({"prometheus", {}}, "memory").ok());
  // A role name used as a CN grants nothing, and vice versa.
  EXPECT_FALSE(authorizer.Authorize({"oncall", {}}, "memory").ok());
  EXPECT_FALSE(
      authorizer.Authorize({"mallory", {"prometheus"}}, "filesystems").ok());
  // Several roles: any matching rule grants.
  EXPECT_TRUE(authorizer.Authorize({"bob", {"intern", "viewer"}}, "info").ok());
  EXPECT_EQ(authorizer.AllowedOperations({"victor", {"viewer"}}),
            (std::vector<std::string>{"info", "memory"}));
}

}  // namespace
}  // namespace opsagent
