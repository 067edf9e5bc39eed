#include "controller/cli/command_line.h"

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

}  // namespace
}  // namespace opsagent
