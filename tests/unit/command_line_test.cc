#include "controller/command_line.h"

#include "absl/strings/str_cat.h"
#include "controller/incident_id.h"
#include "controller/invocation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

const std::vector<FlagSpec> kFlags = {{"output", "FORMAT", "output format"},
                                      {"all", "", "everything"},
                                      {"top", "N", "how many"}};

TEST(CommandLineTest, ParsesFlagsInEveryForm) {
  absl::StatusOr<ParsedArgs> args =
      ParseArgs({"salt-qa", "--output=json", "--all", "--top", "5", "/edx/var",
                 "--", "--not-a-flag"},
                kFlags);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("output"), "json");
  EXPECT_TRUE(args->Has("all"));
  EXPECT_EQ(args->Get("top"), "5");
  EXPECT_EQ(args->Get("missing", "fallback"), "fallback");
  EXPECT_EQ(args->positional(),
            (std::vector<std::string>{"salt-qa", "/edx/var", "--not-a-flag"}));
}

TEST(CommandLineTest, ErrorsNameTheFlag) {
  EXPECT_EQ(ParseArgs({"--bogus"}, kFlags).status().message(),
            "unknown flag --bogus (see --help)");
  EXPECT_EQ(ParseArgs({"--top"}, kFlags).status().message(),
            "--top needs a value (N)");
  EXPECT_EQ(ParseArgs({"--all=yes"}, kFlags).status().message(),
            "--all takes no value");
}

TEST(CommandLineTest, HelpListsFlagsWithValues) {
  EXPECT_EQ(FlagHelp({{"top", "N", "how many"}, {"all", "", "everything"}}),
            "  --top N                  how many\n  --all                    "
            "everything\n");
}

TEST(IncidentIdTest, OnlyTheOneFormIsAnIncidentId) {
  EXPECT_EQ(*ParseIncidentId("INC-3"), 3);
  EXPECT_EQ(*ParseIncidentId("INC-42"), 42);
  EXPECT_EQ(*ParseIncidentId("INC-100000000000000000"), 100000000000000000);
  // Each of these was taken for INC-3 (or another) and recorded as typed,
  // so the action never showed in INC-3's timeline.
  for (const char* other :
       {"inc-3", "Inc-3", "INC-03", "INC-003", "3", "INC-+3", "INC- 3",
        "INC-3 ", " INC-3", "INC-3x", "INC-0", "INC--3", "INC-", "INC_3",
        "INC-1000000000000000000", "INC-\n3", ""}) {
    absl::StatusOr<int64_t> parsed = ParseIncidentId(other, "--incident");
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << other;
    EXPECT_THAT(parsed.status().message(), ::testing::HasSubstr("INC-<number>"))
        << other;
  }
}

TEST(IncidentIdTest, OpsctlRefusesAnotherFormBeforeAnythingIsLoaded) {
  for (const char* other : {"inc-3", "INC-03", "3"}) {
    absl::StatusOr<ParsedArgs> args =
        ParseArgs({"--incident", other}, Invocation::GlobalFlags());
    ASSERT_TRUE(args.ok()) << args.status();
    absl::StatusOr<std::unique_ptr<Invocation>> invocation =
        Invocation::FromArgs(*args);
    ASSERT_FALSE(invocation.ok()) << other;
    EXPECT_THAT(invocation.status().message(),
                ::testing::HasSubstr(absl::StrCat("--incident \"", other)));
  }
  absl::StatusOr<ParsedArgs> args =
      ParseArgs({"--incident", "INC-3"}, Invocation::GlobalFlags());
  ASSERT_TRUE(args.ok()) << args.status();
  absl::StatusOr<std::unique_ptr<Invocation>> invocation =
      Invocation::FromArgs(*args);
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ((*invocation)->context().incident, "INC-3");
}

}  // namespace
}  // namespace opsagent
