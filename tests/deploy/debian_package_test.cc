// Builds the opsagent, opsctl and opsctld Debian packages from the binaries
// under test and checks what a host would get from `apt install
// ./opsagent_*.deb`: metadata, file modes, the conffile, the unit, man pages,
// and that the installed binary checks the shipped configuration.

#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"

namespace opsagent {
namespace {

using ::opsagent::testing::BinaryPath;
using ::opsagent::testing::ReadFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

class DebianPackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new std::string(absl::StrCat(std::getenv("TEST_TMPDIR"), "/debs"));
    ProgramResult built = Run({"/bin/bash", "deploy/debian/build-debs.sh",
                               *out_, BinaryPath("agent/opsagent"),
                               BinaryPath("controller/opsctl/opsctl"),
                               BinaryPath("controller/opsctld/opsctld")});
    ASSERT_EQ(built.exit_code, 0) << built.stdout_text << built.stderr_text;
  }

  static ProgramResult Run(const std::vector<std::string>& argv) {
    // Building the packages runs every opsctl command's --help, each a
    // process start that ASan makes slow on a loaded machine.
    absl::StatusOr<ProgramResult> result = RunProgram(argv, absl::Minutes(6));
    return result.ok() ? *result
                       : ProgramResult{-1, "", result.status().ToString()};
  }
  static std::string Deb(const std::string& name) {
    return absl::StrCat(*out_, "/", name, "_0.1.0_amd64.deb");
  }
  static std::string Field(const std::string& name, const std::string& field) {
    return Run({"/usr/bin/dpkg-deb", "-f", Deb(name), field}).stdout_text;
  }
  // Unpacks a package into a fresh directory and returns it.
  static std::string Extract(const std::string& name) {
    const std::string root = absl::StrCat(*out_, "/root-", name);
    EXPECT_EQ(Run({"/usr/bin/dpkg-deb", "-x", Deb(name), root}).exit_code, 0);
    return root;
  }
  static mode_t Mode(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
  }
  static std::string Manual(const std::string& gz) {
    return Run({"/bin/gzip", "-dc", gz}).stdout_text;
  }

  static std::string* out_;
};

std::string* DebianPackageTest::out_ = nullptr;

TEST_F(DebianPackageTest,
       OpsagentPackageInstallsAHardenedServiceNotYetEnabled) {
  EXPECT_EQ(Field("opsagent", "Package"), "opsagent\n");
  EXPECT_EQ(Field("opsagent", "Version"), "0.1.0\n");
  const std::string depends = Field("opsagent", "Depends");
  EXPECT_THAT(depends, HasSubstr("libsystemd0"));
  EXPECT_THAT(depends, HasSubstr("systemd"));
  // gRPC, Protobuf, Abseil and OpenSSL are linked in (see BENCHMARKS.md).
  EXPECT_THAT(depends, Not(HasSubstr("libgrpc")));
  EXPECT_THAT(depends, Not(HasSubstr("libssl")));
  EXPECT_EQ(Run({"/usr/bin/dpkg-deb", "-I", Deb("opsagent"), "conffiles"})
                .stdout_text,
            "/etc/opsagent/agent.textproto\n");

  const std::string root = Extract("opsagent");
  EXPECT_EQ(Mode(root + "/usr/sbin/opsagent"), 0755);
  EXPECT_EQ(Mode(root + "/etc/opsagent/agent.textproto"), 0640);
  EXPECT_EQ(Mode(root + "/etc/opsagent/tls"), 0700);
  EXPECT_EQ(ReadFileOrDie(root + "/lib/systemd/system/opsagent.service"),
            ReadFileOrDie("deploy/systemd/opsagent.service"));
  // Nothing enables or starts the agent before certificates are in place.
  EXPECT_THAT(
      Run({"/usr/bin/dpkg-deb", "-I", Deb("opsagent"), "postinst"}).stdout_text,
      Not(HasSubstr("enable")));

  const std::string manual = Manual(root + "/usr/share/man/man8/opsagent.8.gz");
  EXPECT_THAT(manual, HasSubstr(".TH OPSAGENT 8"));
  EXPECT_THAT(manual, HasSubstr("--check_config"));
  EXPECT_THAT(manual, HasSubstr("truncate_log"));  // --list_operations

  // The installed binary checks the shipped configuration and says what is
  // missing: the certificates the operator has yet to install.
  ProgramResult check =
      Run({root + "/usr/sbin/opsagent", "--config",
           root + "/etc/opsagent/agent.textproto", "--check_config"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_THAT(check.stderr_text, HasSubstr("config field tls"));
  EXPECT_THAT(check.stderr_text, HasSubstr("/etc/opsagent/tls/"));
  EXPECT_THAT(Run({root + "/usr/sbin/opsagent", "--version"}).stdout_text,
              HasSubstr("opsagent 0.1.0"));
}

TEST_F(DebianPackageTest, OpsctlPackageShipsTheCliItsManualAndExamples) {
  EXPECT_EQ(Field("opsctl", "Package"), "opsctl\n");
  EXPECT_THAT(Field("opsctl", "Depends"), HasSubstr("libsqlite3-0"));
  const std::string root = Extract("opsctl");
  EXPECT_EQ(Mode(root + "/usr/bin/opsctl"), 0755);
  const std::string manual = Manual(root + "/usr/share/man/man1/opsctl.1.gz");
  EXPECT_THAT(manual, HasSubstr(".TH OPSCTL 1"));
  for (const char* command : {"mem", "df", "du", "truncate", "restart", "exec",
                              "runbook", "triage", "audit"}) {
    EXPECT_THAT(manual, HasSubstr(absl::StrCat("Usage: opsctl ", command)))
        << command;
  }
  const std::string examples = root + "/usr/share/doc/opsctl/examples";
  EXPECT_EQ(ReadFileOrDie(examples + "/runbooks/xqueuewatcher.textproto"),
            ReadFileOrDie("runbooks/xqueuewatcher.textproto"));
  EXPECT_NE(Mode(examples + "/inventory.textproto"), 0u);
}

TEST_F(DebianPackageTest, OpsctldPackageShipsTheControllerAndItsHardenedUnit) {
  EXPECT_EQ(Field("opsctld", "Package"), "opsctld\n");
  const std::string depends = Field("opsctld", "Depends");
  EXPECT_THAT(depends, HasSubstr("libsqlite3-0"));
  EXPECT_THAT(depends, HasSubstr("systemd"));
  EXPECT_EQ(
      Run({"/usr/bin/dpkg-deb", "-I", Deb("opsctld"), "conffiles"}).stdout_text,
      "/etc/opsctld/opsctld.textproto\n");
  const std::string root = Extract("opsctld");
  EXPECT_EQ(Mode(root + "/usr/sbin/opsctld"), 0755);
  EXPECT_EQ(Mode(root + "/etc/opsctld/opsctld.textproto"), 0640);
  EXPECT_EQ(Mode(root + "/etc/opsctld/tls"), 0700);
  const std::string unit =
      ReadFileOrDie(root + "/lib/systemd/system/opsctld.service");
  EXPECT_EQ(unit, ReadFileOrDie("deploy/systemd/opsctld.service"));
  EXPECT_THAT(unit, HasSubstr("CapabilityBoundingSet=\n"));
  EXPECT_THAT(unit, HasSubstr("StateDirectory=opsctld"));
  EXPECT_THAT(Manual(root + "/usr/share/man/man8/opsctld.8.gz"),
              HasSubstr("--check_config"));
  // The shipped configuration is checked, and names what is missing.
  ProgramResult check =
      Run({root + "/usr/sbin/opsctld", "--config",
           root + "/etc/opsctld/opsctld.textproto", "--check_config"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_THAT(check.stderr_text, HasSubstr("config field tls"));
}

}  // namespace
}  // namespace opsagent
