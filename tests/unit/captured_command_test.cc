// opsctl commands run inside another program (opsctld's automatic
// diagnosis): what they print is theirs alone, bounded and escaped, and a
// bad command is refused with opsctl's own message and exit code.

#include "controller/commands/captured_command.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// An operator config with no controller and an inventory of one host: the
// `hosts` command prints it without a certificate or a network.
std::string WriteConfig(const std::string& name, const std::string& host,
                        const std::string& environment) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string inventory = absl::StrCat(dir, "/", name, "-inventory");
  std::ofstream(inventory) << "host { name: \"" << host
                           << "\" address: \"127.0.0.1:1\" environment: \""
                           << environment << "\" }\n";
  // Named, never read: `hosts` makes no connection.
  const std::string key = absl::StrCat(dir, "/", name, "-key");
  std::ofstream(key) << "not read\n";
  chmod(key.c_str(), 0600);
  const std::string config = absl::StrCat(dir, "/", name, "-config");
  std::ofstream(config) << "inventory: \"" << inventory << "\"\n"
                        << "certificate: \"" << inventory << "\"\n"
                        << "ca_certificate: \"" << inventory << "\"\n"
                        << "private_key: \"" << key << "\"\n";
  return config;
}

TEST(CapturedCommandTest, WhatACommandPrintsIsCapturedNotPrinted) {
  const std::string config = WriteConfig("one", "web-1", "production");
  CapturedCommand ran = RunCapturedCommand({"hosts", "--config", config},
                                           absl::Seconds(10), 64 << 10);
  EXPECT_EQ(ran.exit_code, kExitOk) << ran.output;
  EXPECT_THAT(ran.output, HasSubstr("web-1"));
  EXPECT_THAT(ran.output, HasSubstr("production"));
  EXPECT_FALSE(ran.output_truncated);
  EXPECT_TRUE(ran.run_id.empty());  // it made no calls

  CapturedCommand json =
      RunCapturedCommand({"hosts", "--config", config, "--output", "json"},
                         absl::Seconds(10), 64 << 10);
  EXPECT_EQ(json.exit_code, kExitOk);
  EXPECT_THAT(json.output, HasSubstr("\"name\":\"web-1\""));
}

TEST(CapturedCommandTest, OutputIsCutAtItsBound) {
  const std::string config = WriteConfig("cut", "web-1", "production");
  CapturedCommand ran =
      RunCapturedCommand({"hosts", "--config", config}, absl::Seconds(10), 12);
  EXPECT_EQ(ran.exit_code, kExitOk);
  EXPECT_EQ(ran.output.size(), 12u);
  EXPECT_TRUE(ran.output_truncated);
}

TEST(CapturedCommandTest, TerminalControlsAreEscaped) {
  // An environment name holding an escape sequence (a title change).
  const std::string config =
      WriteConfig("escape", "web-1", "prod\\033]0;owned\\007");
  CapturedCommand ran =
      RunCapturedCommand({"hosts", "--config", config, "--output", "json"},
                         absl::Seconds(10), 64 << 10);
  EXPECT_EQ(ran.exit_code, kExitOk) << ran.output;
  EXPECT_THAT(ran.output, Not(HasSubstr("\033")));
  EXPECT_THAT(ran.output, Not(HasSubstr("\007")));
  EXPECT_THAT(ran.output, HasSubstr("owned"));
}

TEST(CapturedCommandTest, BadCommandsAreRefusedAsOpsctlRefusesThem) {
  CapturedCommand unknown =
      RunCapturedCommand({"no-such-command"}, absl::Seconds(10), 64 << 10);
  EXPECT_EQ(unknown.exit_code, kExitUsage);
  EXPECT_THAT(unknown.output, HasSubstr("no-such-command"));

  CapturedCommand no_host =
      RunCapturedCommand({"mem"}, absl::Seconds(10), 64 << 10);
  EXPECT_EQ(no_host.exit_code, kExitUsage);
  EXPECT_THAT(no_host.output, HasSubstr("opsctl: "));

  CapturedCommand bad_flag = RunCapturedCommand({"hosts", "--output", "yaml"},
                                                absl::Seconds(10), 64 << 10);
  EXPECT_EQ(bad_flag.exit_code, kExitUsage);
  EXPECT_THAT(bad_flag.output, HasSubstr("--output yaml"));

  CapturedCommand no_config = RunCapturedCommand(
      {"hosts", "--config",
       absl::StrCat(std::getenv("TEST_TMPDIR"), "/missing-config")},
      absl::Seconds(10), 64 << 10);
  EXPECT_EQ(no_config.exit_code, kExitUsage);
  EXPECT_THAT(no_config.output, HasSubstr("missing-config"));
}

// Two diagnoses at once each get their own output.
TEST(CapturedCommandTest, RunsAtOnceShareNoOutput) {
  const std::string first = WriteConfig("first", "alpha-1", "production");
  const std::string second = WriteConfig("second", "beta-1", "staging");
  std::vector<CapturedCommand> ran(2 * 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        ran[t * 20 + i] =
            RunCapturedCommand({"hosts", "--config", t == 0 ? first : second},
                               absl::Seconds(10), 64 << 10);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < 40; ++i) {
    const bool alpha = i < 20;
    EXPECT_EQ(ran[i].exit_code, kExitOk);
    EXPECT_THAT(ran[i].output, HasSubstr(alpha ? "alpha-1" : "beta-1"));
    EXPECT_THAT(ran[i].output, Not(HasSubstr(alpha ? "beta-1" : "alpha-1")));
  }
}

}  // namespace
}  // namespace opsagent
