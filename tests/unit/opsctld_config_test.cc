// opsctld's vouched_networks: each must parse, and none may be so wide that
// it vouches for a large part of the Internet (0.0.0.0/0 would switch the
// flood limits off for everyone). Access rules grant exactly the
// permissions the Controller RPCs declare, each of which declares one.

#include "controller/server/opsctld_config.h"

#include "controller/server/rpc_permission.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
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

// The permissions are read from controller.proto, not typed again: each
// RPC declares one, and the list is what they declare.
TEST(RpcPermissionTest, EveryControllerRpcDeclaresItsPermission) {
  EXPECT_TRUE(CheckDeclaredPermissions().ok()) << CheckDeclaredPermissions();
  EXPECT_EQ(DeclaredPermissions(),
            (std::vector<std::string>{"audit", "confirm", "enroll", "hosts",
                                      "incidents", "respond", "run"}));
  EXPECT_EQ(DeclaredPermission("Run"), "run");
  EXPECT_EQ(DeclaredPermission("ListHosts"), "hosts");
  EXPECT_EQ(DeclaredPermission("ExportAudit"), "audit");
  EXPECT_EQ(DeclaredPermission("RecordGuidedStep"), "confirm");
  EXPECT_EQ(DeclaredPermission("RespondToIncident"), "respond");
  EXPECT_EQ(DeclaredPermission("CreateEnrollmentToken"), "enroll");
  EXPECT_EQ(DeclaredPermission("RevokeHost"), "enroll");
  // No such RPC: nothing any rule grants.
  EXPECT_EQ(DeclaredPermission("DeleteAudit"), "");
}

absl::Status Access(const std::string& rules) {
  v1::OpsctldConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(rules, &config));
  return CheckAccessRules(config);
}

TEST(OpsctldConfigTest, AccessRulesGrantWhatTheRpcsDeclare) {
  // "confirm" was once refused here although RecordGuidedStep needs it:
  // the list is now the RPCs' own.
  EXPECT_TRUE(Access(R"(access { roles: "lead" permissions: ["confirm",
                         "incidents"] }
                        access { roles: "oncall" permissions: "*" })")
                  .ok());
  EXPECT_THAT(
      Access(R"(access { roles: "x" permissions: "delete" })").message(),
      HasSubstr("access[0]: unknown permission \"delete\" (audit, "
                "confirm, enroll, hosts, incidents, respond, run, *)"));
  EXPECT_THAT(Access(R"(access { roles: "x" })").message(),
              HasSubstr("names no permissions"));
  EXPECT_THAT(Access(R"(access { permissions: "run" })").message(),
              HasSubstr("names no identities and no roles"));
  EXPECT_THAT(Access("").message(), HasSubstr("no rules"));
}

}  // namespace
}  // namespace opsagent
