// The agent configuration's controllers: `controller` alone as before, and
// `more_controllers` beside it (issue 25), each checked with an error that
// names the field.

#include "agent/server/agent_config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateSpec;
using ::opsagent::testing::TestCertificateAuthority;
using ::testing::HasSubstr;

class AgentConfigControllersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/pki");
    mkdir(dir.c_str(), 0700);
    auto ca = TestCertificateAuthority::Create(dir, "config");
    ASSERT_TRUE(ca.ok()) << ca.status();
    CertificateSpec spec{"web-1", {}, {"web-1"}, {"127.0.0.1"}};
    spec.server = true;
    auto issued = (*ca)->Issue("web-1", spec);
    ASSERT_TRUE(issued.ok()) << issued.status();
    tls_ = new std::string(absl::StrCat(
        "tls { certificate: \"", issued->certificate, "\" private_key: \"",
        issued->private_key, "\" ca_certificate: \"", (*ca)->certificate_path(),
        "\" }\n", "hostname: \"web-1\"\n", "journal_path: \"", dir,
        "/journal.jsonl\"\n",
        "authorization { roles: \"oncall\" operations: \"*\" }\n"));
    ca_ = ca->release();
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete tls_;
  }

  // The configuration `text` plus a valid identity and journal, compiled.
  static absl::StatusOr<AgentEnvironment> Compile(const std::string& text) {
    v1::AgentConfig config;
    if (!google::protobuf::TextFormat::ParseFromString(
            absl::StrCat(*tls_, text), &config))
      return absl::InvalidArgumentError("not a text proto");
    return CompileAgentConfig(config);
  }

  static TestCertificateAuthority* ca_;
  static std::string* tls_;
};

TestCertificateAuthority* AgentConfigControllersTest::ca_;
std::string* AgentConfigControllersTest::tls_;

constexpr char kController[] =
    "controller { address: \"opsctld-a.example:7443\" name: "
    "\"opsctld-a.example\" }\n";

TEST_F(AgentConfigControllersTest, OneControllerLoadsAsBefore) {
  absl::StatusOr<AgentEnvironment> agent = Compile(kController);
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->config.controller().max_backoff_seconds(), 30u);
  EXPECT_TRUE(agent->config.more_controllers().empty());
}

TEST_F(AgentConfigControllersTest, MoreControllersGetTheirDefaults) {
  absl::StatusOr<AgentEnvironment> agent = Compile(absl::StrCat(
      kController,
      "more_controllers { address: \"opsctld-b.example:7443\" name: "
      "\"opsctld-b.example\" }\n",
      "more_controllers { address: \"opsctld-c.example:7443\" name: "
      "\"opsctld-c.example\" max_backoff_seconds: 5 }\n"));
  ASSERT_TRUE(agent.ok()) << agent.status();
  ASSERT_EQ(agent->config.more_controllers_size(), 2);
  EXPECT_EQ(agent->config.more_controllers(0).max_backoff_seconds(), 30u);
  EXPECT_EQ(agent->config.more_controllers(1).max_backoff_seconds(), 5u);
}

TEST_F(AgentConfigControllersTest, EachMistakeIsNamedByItsField) {
  const struct {
    std::string text;
    std::string error;
  } cases[] = {
      {"more_controllers { address: \"opsctld-b.example:7443\" name: "
       "\"opsctld-b.example\" }\nlisten_address: \"0.0.0.0:9443\"\n",
       "config field more_controllers: needs `controller`"},
      {absl::StrCat(kController,
                    "more_controllers { name: \"opsctld-b.example\" }\n"),
       "config field more_controllers[0].address: is required"},
      {absl::StrCat(kController,
                    "more_controllers { address: \"opsctld-b.example\" name: "
                    "\"opsctld-b.example\" }\n"),
       "config field more_controllers[0].address: \"opsctld-b.example\" is "
       "not HOST:PORT"},
      {absl::StrCat(kController,
                    "more_controllers { address: \"opsctld-b.example:7443\" "
                    "}\n"),
       "config field more_controllers[0].name: is required"},
      {absl::StrCat(kController,
                    "more_controllers { address: \"opsctld-b.example:7443\" "
                    "name: \"opsctld-b.example\" max_backoff_seconds: 7200 "
                    "}\n"),
       "config field more_controllers[0].max_backoff_seconds: may be at most "
       "3600"},
      {absl::StrCat(kController,
                    "more_controllers { address: \"opsctld-a.example:7443\" "
                    "name: \"opsctld-a.example\" }\n"),
       "config field more_controllers[0].address: \"opsctld-a.example:7443\" "
       "is already linked to"},
      {absl::StrCat(kController,
                    "more_controllers { address: \"opsctld-b.example:7443\" "
                    "name: \"opsctld-b.example\" }\n",
                    "more_controllers { address: \"opsctld-b.example:7443\" "
                    "name: \"opsctld-b2.example\" }\n"),
       "config field more_controllers[1].address: \"opsctld-b.example:7443\" "
       "is already linked to"},
  };
  for (const auto& [text, error] : cases) {
    absl::StatusOr<AgentEnvironment> agent = Compile(text);
    ASSERT_FALSE(agent.ok()) << text;
    EXPECT_EQ(agent.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(agent.status().message(), HasSubstr(error)) << text;
  }
}

}  // namespace
}  // namespace opsagent
