// The operator config's controllers (`controller`, `more_controllers`):
// checked once at load, with the field and the fix in the error.

#include "controller/operator_config.h"

#include "controller/controller_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

v1::OperatorConfig Parse(const std::string& text) {
  v1::OperatorConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  return config;
}

TEST(OperatorConfigTest, OneControllerWorksAsBeforeAndNamesDefaultToTheHost) {
  v1::OperatorConfig config = Parse("controller: \"ctl-1.example:7443\"");
  ASSERT_TRUE(CheckControllers("op.textproto", &config).ok());
  EXPECT_EQ(config.controller_name(), "ctl-1.example");
  EXPECT_TRUE(config.more_controllers().empty());
}

TEST(OperatorConfigTest, NoControllerAtAllIsFine) {
  v1::OperatorConfig config;
  EXPECT_TRUE(CheckControllers("op.textproto", &config).ok());
}

TEST(OperatorConfigTest, MoreControllersKeepTheirOrderAndGetTheirNames) {
  v1::OperatorConfig config = Parse(R"pb(
    controller: "10.0.0.1:7443"
    controller_name: "ctl-1.example"
    more_controllers { address: "ctl-2.example:7443" }
    more_controllers { address: "10.0.0.3:7443" name: "ctl-3.example" }
  )pb");
  ASSERT_TRUE(CheckControllers("op.textproto", &config).ok());
  EXPECT_EQ(config.controller_name(), "ctl-1.example");
  ASSERT_EQ(config.more_controllers_size(), 2);
  EXPECT_EQ(config.more_controllers(0).name(), "ctl-2.example");
  EXPECT_EQ(config.more_controllers(1).address(), "10.0.0.3:7443");
  EXPECT_EQ(config.more_controllers(1).name(), "ctl-3.example");
}

TEST(OperatorConfigTest, MoreControllersWithoutAFirstOneAreRefused) {
  v1::OperatorConfig config =
      Parse("more_controllers { address: \"ctl-2.example:7443\" }");
  absl::Status status = CheckControllers("op.textproto", &config);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(), HasSubstr("op.textproto"));
  EXPECT_THAT(status.message(), HasSubstr("more_controllers needs"));
}

TEST(OperatorConfigTest, EachBadAddressIsNamedByItsField) {
  for (const auto& [text, field] :
       std::vector<std::pair<std::string, std::string>>{
           {"controller: \"ctl-1\"", "controller \"ctl-1\" is not HOST:PORT"},
           {"controller: \"ctl-1:0\"", "controller \"ctl-1:0\""},
           {"controller: \"a:1\" more_controllers { address: \"ctl-2:70000\" }",
            "more_controllers[0].address \"ctl-2:70000\" is not HOST:PORT"},
           {"controller: \"a:1\" more_controllers { address: \"b:2\" } "
            "more_controllers { address: \":7443\" }",
            "more_controllers[1].address"},
           {"controller: \"a:1\" more_controllers { name: \"b\" }",
            "more_controllers[0] has no address"},
       }) {
    v1::OperatorConfig config = Parse(text);
    absl::Status status = CheckControllers("op.textproto", &config);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << text;
    EXPECT_THAT(status.message(), HasSubstr(field)) << text;
  }
}

TEST(OperatorConfigTest, AControllerListedTwiceIsRefused) {
  v1::OperatorConfig config = Parse(R"pb(
    controller: "ctl-1:7443"
    more_controllers { address: "ctl-2:7443" }
    more_controllers { address: "ctl-1:7443" }
  )pb");
  absl::Status status = CheckControllers("op.textproto", &config);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(),
              HasSubstr("more_controllers[1].address \"ctl-1:7443\" is "
                        "listed twice"));
}

// What may be asked again of the next controller after an UNAVAILABLE is
// read from the RPC's declaration: reads only.
TEST(OperatorConfigTest, OnlyReadsAreDeclaredFreeOfSideEffects) {
  EXPECT_TRUE(ControllerClient::HasNoSideEffects(
      v1::ListHostsRequest::descriptor(), v1::ListHostsReply::descriptor()));
  EXPECT_TRUE(ControllerClient::HasNoSideEffects(
      v1::AuditQuery::descriptor(), v1::AuditQueryReply::descriptor()));
  EXPECT_TRUE(
      ControllerClient::HasNoSideEffects(v1::SelectHostsRequest::descriptor(),
                                         v1::SelectHostsReply::descriptor()));
  EXPECT_FALSE(ControllerClient::HasNoSideEffects(
      v1::IncidentResponse::descriptor(),
      v1::IncidentResponseRecorded::descriptor()));
  EXPECT_FALSE(
      ControllerClient::HasNoSideEffects(v1::GuidedStepRecord::descriptor(),
                                         v1::GuidedStepRecorded::descriptor()));
  EXPECT_FALSE(ControllerClient::HasNoSideEffects(v1::RunRequest::descriptor(),
                                                  v1::RunEvent::descriptor()));
}

}  // namespace
}  // namespace opsagent
