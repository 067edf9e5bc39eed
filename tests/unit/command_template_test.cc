#include "agent/ops/command_template.h"

#include "common/text_proto_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

v1::VettedCommand Command(const std::string& text) {
  v1::VettedCommand command;
  EXPECT_TRUE(ParseTextProto(text, "command", &command).ok()) << text;
  return command;
}

// The runbook's OVS entry: manage.py add_hls_video_to_edx --edx-course-id
// COURSE.
constexpr char kAddVideo[] = R"(
  name: "add-hls-video"
  argv: ["/bin/echo", "python", "./manage.py", "add_hls_video_to_edx", "--edx-course-id", "{course}"]
  params { name: "course" type: COURSE_ID }
)";

// The runbook's Reddit/Bootcamp entries: salt TARGET state.sls STATES.
constexpr char kSaltState[] = R"(
  name: "salt-state"
  argv: ["/bin/echo", "salt", "{target}", "state.sls", "{states}", "--timeout={timeout}"]
  params { name: "target" type: REGEX pattern: "[A-Za-z0-9*._-]+" }
  params { name: "states" type: ENUM values: ["reddit.config", "reddit.config,pgbouncer", "heroku.update_heroku_config"] }
  params { name: "timeout" type: INTEGER min: 10 max: 600 }
)";

TEST(CommandTemplateTest, BuildsArgvFromValidValues) {
  auto salt = CommandTemplate::Compile(Command(kSaltState));
  ASSERT_TRUE(salt.ok()) << salt.status();
  auto argv = (*salt)->Expand({{"target", "reddit-production*"},
                               {"states", "reddit.config,pgbouncer"},
                               {"timeout", "60"}});
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_EQ(*argv, (std::vector<std::string>{
                       "/bin/echo", "salt", "reddit-production*", "state.sls",
                       "reddit.config,pgbouncer", "--timeout=60"}));
  auto video = CommandTemplate::Compile(Command(kAddVideo));
  ASSERT_TRUE(video.ok());
  EXPECT_TRUE((*video)
                  ->Expand({{"course", "course-v1:xPRO+DECA_Boeing+SPOC_R0"}})
                  .ok());
}

TEST(CommandTemplateTest, RefusesValuesThatFailTheirValidator) {
  auto salt = CommandTemplate::Compile(Command(kSaltState));
  auto video = CommandTemplate::Compile(Command(kAddVideo));
  struct Case {
    const CommandTemplate* command;
    std::map<std::string, std::string> values;
    std::string error;
  };
  const std::map<std::string, std::string> ok = {
      {"target", "reddit-production*"},
      {"states", "reddit.config"},
      {"timeout", "60"}};
  auto with = [&](const std::string& key, const std::string& value) {
    auto values = ok;
    values[key] = value;
    return values;
  };
  for (const Case& c : std::vector<Case>{
           {salt->get(), with("target", "reddit; reboot"), "does not match"},
           {salt->get(), with("target", "--help"), "may not start with \"-\""},
           {salt->get(), with("states", "highstate"), "is not one of"},
           {salt->get(), with("timeout", "6000"),
            "not an integer from 10 to 600"},
           {salt->get(), with("timeout", "1e3"), "not an integer"},
           {salt->get(), with("target", "a\nb"), "control character"},
           {salt->get(), with("target", std::string(300, 'a')),
            "longer than 256"},
           {salt->get(), with("target", "\xff"), "not valid UTF-8"},
           {salt->get(), with("target", ""), "is empty"},
           {salt->get(),
            {{"target", "x"}, {"states", "reddit.config"}},
            "parameter timeout is required"},
           {salt->get(), with("extra", "1"), "has no parameter extra"},
           {video->get(),
            {{"course", "course-v1:xPRO+DECA"}},
            "is not a course id"},
           {video->get(),
            {{"course", "course-v1:a+b+c; rm -rf /"}},
            "is not a course id"},
       }) {
    auto argv = c.command->Expand(c.values);
    ASSERT_FALSE(argv.ok()) << c.error;
    EXPECT_EQ(argv.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(argv.status().message(), HasSubstr(c.error));
  }
}

TEST(CommandTemplateTest, ValuesAreNotRescannedForPlaceholders) {
  auto salt = CommandTemplate::Compile(Command(R"(
    name: "x" argv: ["/bin/echo", "{a}", "{b}"]
    params { name: "a" type: REGEX pattern: ".*" }
    params { name: "b" type: REGEX pattern: ".*" })"));
  auto argv = (*salt)->Expand({{"a", "{b}"}, {"b", "two"}});
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ((*argv)[1], "{b}");
}

TEST(CommandTemplateTest, BadDeclarationsAreRefusedAtLoad) {
  for (
      auto [text, error] : std::vector<std::pair<std::string, std::string>>{
          {R"(name: "a" argv: ["echo"])", "absolute path"},
          {R"(name: "a" argv: ["/no/such/program"])", "not an executable"},
          {R"(name: "a" argv: ["{p}"] params { name: "p" type: ENUM values: "x" })",
           "absolute path"},
          {R"(name: "a" argv: ["/bin/echo", "{q}"])",
           "{q}, which is not a parameter"},
          {R"(name: "a" argv: ["/bin/echo"] params { name: "p" type: ENUM values: "x" })",
           "never used"},
          {R"(name: "a" argv: ["/bin/echo", "{p}"] params { name: "p" type: REGEX pattern: "(" })",
           "bad pattern"},
          {R"(name: "a" argv: ["/bin/echo", "{p}"] params { name: "p" })",
           "type is required"},
          {R"(name: "a" argv: ["/bin/echo", "{p}"] params { name: "p" type: INTEGER min: 5 max: 1 })",
           "min > max"},
      }) {
    auto compiled = CommandTemplate::Compile(Command(text));
    ASSERT_FALSE(compiled.ok()) << text;
    EXPECT_THAT(compiled.status().message(), HasSubstr(error)) << text;
  }
}

}  // namespace
}  // namespace opsagent
