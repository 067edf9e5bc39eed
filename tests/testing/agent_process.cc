#include "tests/testing/agent_process.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace opsagent::testing {

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::abort();
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string MakeTestDirectory() {
  // A parameterized test's name holds a '/' ("Reads/tmpfs"): one directory.
  const std::string dir = absl::StrCat(
      std::getenv("TEST_TMPDIR"), "/",
      absl::StrReplaceAll(
          ::testing::UnitTest::GetInstance()->current_test_info()->name(),
          {{"/", "-"}}));
  mkdir(dir.c_str(), 0700);
  return dir;
}

std::optional<int> LoggedPort(absl::string_view log, absl::string_view marker) {
  const size_t at = log.rfind(marker);
  if (at == absl::string_view::npos) return std::nullopt;
  const absl::string_view rest = log.substr(at);
  const size_t port = rest.find("(port ");
  int value = 0;
  if (port == absl::string_view::npos ||
      !absl::SimpleAtoi(rest.substr(port + 6, rest.find(')', port) - port - 6),
                        &value))
    return std::nullopt;
  return value;
}

std::vector<std::string> InheritedEnvironment() {
  std::vector<std::string> env;
  for (char** var = environ; *var != nullptr; ++var) env.emplace_back(*var);
  return env;
}

int Occurrences(absl::string_view in, absl::string_view text) {
  int count = 0;
  for (size_t at = in.find(text); at != absl::string_view::npos;
       at = in.find(text, at + text.size()))
    ++count;
  return count;
}

bool Eventually(const std::function<bool()>& condition,
                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return condition();
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFileOrDie(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  if (!out) std::abort();
}

std::string AbsolutePath(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? resolved : path;
}

std::string BinaryPath(const std::string& workspace_relative) {
  // Bazel runs tests in the workspace's runfiles directory.
  return workspace_relative;
}

absl::StatusOr<std::unique_ptr<AgentProcess>> AgentProcess::Start(
    const std::string& dir, const std::string& config_text) {
  const std::string config = absl::StrCat(dir, "/agent.textproto");
  const std::string log = absl::StrCat(dir, "/agent.log");
  WriteFileOrDie(config, config_text);
  WriteFileOrDie(log, "");
  absl::StatusOr<Subprocess> process =
      Subprocess::Start({{BinaryPath("agent/opsagent"), "--config", config},
                         std::nullopt,
                         "",
                         log});
  if (!process.ok()) return process.status();
  std::unique_ptr<AgentProcess> agent(
      new AgentProcess(*std::move(process), log));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    // "opsagent 0.x serving HOST as ... on port 40123 (mutual TLS)": the
    // port it bound, also when configured with port 0; an agent with only
    // a controller link has none.
    const std::string text = agent->Log();
    if (absl::StrContains(text, "over its controller link only")) return agent;
    if (size_t at = text.find(" on port ");
        at != std::string::npos && absl::StrContains(text, "serving")) {
      absl::string_view rest = absl::string_view(text).substr(at + 9);
      rest = rest.substr(0, rest.find(' '));
      if (!absl::SimpleAtoi(rest, &agent->port_))
        return absl::InternalError(
            absl::StrCat("opsagent logged no port it serves on:\n", text));
      return agent;
    }
    absl::StatusOr<int> exited = agent->process_.Wait(absl::ZeroDuration());
    if (exited.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("opsagent exited with ", *exited, ":\n", agent->Log()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("opsagent did not start:\n", agent->Log()));
}

std::unique_ptr<Subprocess> StartLogged(const std::string& dir,
                                        const std::string& name,
                                        const std::vector<std::string>& argv) {
  absl::StatusOr<Subprocess> started =
      Subprocess::Start({argv, std::nullopt, "", dir + "/" + name + ".log"});
  EXPECT_TRUE(started.ok()) << started.status();
  if (!started.ok()) return nullptr;
  return std::make_unique<Subprocess>(*std::move(started));
}

}  // namespace opsagent::testing
