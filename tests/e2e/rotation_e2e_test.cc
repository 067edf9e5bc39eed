// Certificate rotation without a restart: the agent's certificate, key and
// CA files are replaced on disk; new connections use them within the
// refresh interval, and certificates of the old CA are refused from then on;
// SIGHUP changes nothing.

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

namespace fs = std::filesystem;

TEST(RotationE2eTest, NewFilesAreUsedWithoutRestartAndTheOldCaIsRefused) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  ::opsagent::testing::CertificateSpec agent_spec{
      "localhost", {}, {"localhost"}, {"127.0.0.1"}};
  agent_spec.server = true;
  auto old_ca =
      ::opsagent::testing::TestCertificateAuthority::Create(dir, "old");
  auto new_ca =
      ::opsagent::testing::TestCertificateAuthority::Create(dir, "new");
  auto old_agent = (*old_ca)->Issue("old-agent", agent_spec);
  auto new_agent = (*new_ca)->Issue("new-agent", agent_spec);
  auto old_operator = (*old_ca)->Issue("old-operator", {"alice", {"oncall"}});
  auto new_operator = (*new_ca)->Issue("new-operator", {"alice", {"oncall"}});
  // The files the agent watches start as copies of the old PKI.
  const std::string live = dir + "/live";
  fs::create_directories(live);
  fs::copy_file(old_agent->certificate, live + "/agent.crt");
  fs::copy_file(old_agent->private_key, live + "/agent.key");
  fs::copy_file((*old_ca)->certificate_path(), live + "/ca.crt");
  auto agent = ::opsagent::testing::AgentProcess::Start(
      dir,
      absl::StrCat("listen_address: \"127.0.0.1:0", "\"\ntls { certificate: \"",
                   live, "/agent.crt\" private_key: \"", live,
                   "/agent.key\" ca_certificate: \"", live,
                   "/ca.crt\" refresh_interval_seconds: 1 }\n",
                   "authorization { roles: \"oncall\" operations: \"*\" }\n"));
  ASSERT_TRUE(agent.ok()) << agent.status();
  const int port = (*agent)->port();
  const pid_t agent_pid = (*agent)->process().pid();

  ::opsagent::testing::OpsctlRunner old_side(
      dir, "old", old_operator->certificate, old_operator->private_key,
      (*old_ca)->certificate_path(), "localhost", port);
  ::opsagent::testing::OpsctlRunner new_side(
      dir, "new", new_operator->certificate, new_operator->private_key,
      (*new_ca)->certificate_path(), "localhost", port);
  ASSERT_EQ(old_side.Run({"info", "localhost"}).exit_code, 0);
  EXPECT_EQ(new_side.Run({"info", "localhost"}).exit_code, 4);  // not yet

  // Rotate: write new files beside and rename them over the old ones.
  for (auto [from, to] :
       {std::pair{new_agent->certificate, live + "/agent.crt"},
        {new_agent->private_key, live + "/agent.key"},
        {(*new_ca)->certificate_path(), live + "/ca.crt"}}) {
    fs::copy_file(from, to + ".tmp");
    fs::rename(to + ".tmp", to);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  int code = -1;
  while (absl::Now() < deadline &&
         (code = new_side.Run({"info", "localhost"}).exit_code) != 0) {
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_EQ(code, 0) << "the agent never picked up the new files";
  EXPECT_EQ(old_side.Run({"info", "localhost"}).exit_code,
            4);  // the old CA is refused now
  // Same process, still running: no restart. (kill(pid, 0) would also
  // succeed on a child that exited and was not reaped.)
  EXPECT_EQ((*agent)->process().pid(), agent_pid);
  EXPECT_FALSE((*agent)->process().Exited());

  // An administrator's reload habit (kill -HUP) stops nothing: the files
  // are re-read by themselves. Ended by it, the agent would not come back:
  // systemd counts SIGHUP as a clean exit.
  ASSERT_EQ(kill(agent_pid, SIGHUP), 0);
  EXPECT_TRUE(::opsagent::testing::Eventually([&] {
    return absl::StrContains((*agent)->Log(),
                             "received SIGHUP: nothing to reload");
  }));
  EXPECT_EQ(new_side.Run({"info", "localhost"}).exit_code, 0);
  EXPECT_FALSE((*agent)->process().Exited());
}

}  // namespace
}  // namespace opsagent
