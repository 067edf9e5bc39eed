#include "controller/target_set.h"

#include "common/text_proto_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

Inventory Fleet() {
  v1::Inventory proto;
  EXPECT_TRUE(ParseTextProto(R"(
    host { name: "salt-qa" address: "10.1.3.33:9443" roles: "salt-master" environment: "qa" }
    host { name: "salt-production" address: "10.0.2.195:9443" roles: "salt-master" environment: "production" }
    host { name: "reddit-production-1" address: "10.13.1.59:9443" roles: "reddit" environment: "production" }
    host { name: "reddit-production-2" address: "10.13.1.60:9443" roles: "reddit" environment: "production" }
    host { name: "ip-10-7-0-78" address: "10.7.0.78:9443" roles: ["xqwatcher", "supervisor"] environment: "production" }
  )",
                             "fleet", &proto)
                  .ok());
  return *Inventory::FromProto(proto, "fleet");
}

std::vector<std::string> Names(absl::string_view expression) {
  absl::StatusOr<std::vector<v1::Host>> hosts =
      SelectHosts(Fleet(), expression);
  EXPECT_TRUE(hosts.ok()) << hosts.status();
  std::vector<std::string> names;
  for (const v1::Host& h : hosts.value_or(std::vector<v1::Host>{}))
    names.push_back(h.name());
  return names;
}

using V = std::vector<std::string>;

TEST(TargetSetTest, NamesGlobsRolesAndEnvironments) {
  EXPECT_EQ(Names("salt-qa"), V{"salt-qa"});
  EXPECT_EQ(Names("reddit-production*"),
            (V{"reddit-production-1", "reddit-production-2"}));
  EXPECT_EQ(Names("role:salt-master"), (V{"salt-qa", "salt-production"}));
  EXPECT_EQ(Names("role:supervisor"), V{"ip-10-7-0-78"});
  EXPECT_EQ(Names("env:qa"), V{"salt-qa"});
}

TEST(TargetSetTest, SameKindWidensOtherKindsNarrow) {
  EXPECT_EQ(Names("salt-qa,ip-10-7-0-78"), (V{"salt-qa", "ip-10-7-0-78"}));
  EXPECT_EQ(Names("role:salt-master,env:production"), V{"salt-production"});
  EXPECT_EQ(
      Names("role:salt-master,role:reddit,env:production"),
      (V{"salt-production", "reddit-production-1", "reddit-production-2"}));
  EXPECT_EQ(Names("*-production*,role:reddit"),
            (V{"reddit-production-1", "reddit-production-2"}));
}

TEST(TargetSetTest, SelectingNothingIsAnErrorThatHelps) {
  auto typo = SelectHosts(Fleet(), "salt-q");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(), HasSubstr("did you mean salt-qa"));
  auto none = SelectHosts(Fleet(), "role:salt-master,env:staging");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(),
              HasSubstr("no host in the inventory matches"));
  EXPECT_FALSE(SelectHosts(Fleet(), "").ok());
  EXPECT_THAT(SelectHosts(Fleet(), "team:ops").status().message(),
              HasSubstr("role:NAME or env:NAME"));
}

}  // namespace
}  // namespace opsagent
