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

TEST(AuthorizerTest, TheAutomationRoleOnlyReadsAndOnlyWhatNamesIt) {
  Authorizer authorizer(Rules(R"(
    authorization { roles: "oncall" operations: "*" }
    authorization { roles: "Automation" operations: "*" }
    authorization { identities: "opsctld-automation" operations: "*" }
    authorization { roles: "automation" operations: ["memory", "truncate_log", "run_command"] }
  )"));
  for (const PeerIdentity& caller :
       std::vector<PeerIdentity>{{"opsctld-automation", {"automation"}},
                                 {"mixed", {"automation", "oncall"}},
                                 {"spelled", {"Automation"}},
                                 {"shouting", {"AUTOMATION", "oncall"}}}) {
    const std::string who = caller.ToString();
    EXPECT_TRUE(caller.IsAutomation()) << who;
    EXPECT_TRUE(authorizer.Authorize(caller, "memory").ok()) << who;
    // Changes are refused whatever a rule grants; run_command is judged
    // per command (read_only).
    EXPECT_FALSE(authorizer.Authorize(caller, "truncate_log").ok()) << who;
    EXPECT_FALSE(authorizer.Authorize(caller, "restart_service").ok()) << who;
    EXPECT_TRUE(authorizer.Authorize(caller, "run_command").ok()) << who;
    // Only the rule naming the role grants: not "*" for oncall, not the
    // identity rule, not a rule spelling it "Automation".
    EXPECT_FALSE(authorizer.Authorize(caller, "disk_usage").ok()) << who;
  }
  EXPECT_TRUE(authorizer.Authorize({"alice", {"oncall"}}, "truncate_log").ok());
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
