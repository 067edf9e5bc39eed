// Builds the opsagent, opsctl and opsctld Debian packages from the binaries
// under test (deploy/debian/build-debs.sh: debhelper over deploy/debian/debian)
// and checks what a host would get from `apt install ./opsagent_*.deb`:
// metadata, file modes, the conffile, the unit, the maintainer scripts, man
// pages, stripped binaries with -dbgsym packages, that lintian finds nothing
// unexplained, and that the installed binary checks the shipped
// configuration. Installing, upgrading, removing and purging them under real
// systemd is package_lifecycle_test.sh.

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
using ::testing::AnyOf;
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
  static std::string Script(const std::string& name,
                            const std::string& script) {
    return Run({"/usr/bin/dpkg-deb", "-I", Deb(name), script}).stdout_text;
  }
  // A real manual page, not a program's --help pasted: every section a
  // reader looks for, and a SEE ALSO that points only at what is installed.
  static void ExpectManualPage(const std::string& root,
                               const std::string& page) {
    SCOPED_TRACE(page);
    const std::string manual = Manual(root + page);
    for (const char* section :
         {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS",
          ".SH FILES", ".SH EXIT STATUS", ".SH SEE ALSO"}) {
      EXPECT_THAT(manual, HasSubstr(section));
    }
    EXPECT_THAT(manual, Not(HasSubstr("Flags from")));  // Abseil's --help
    const std::string see_also = manual.substr(manual.find(".SH SEE ALSO"));
    size_t at = 0;
    while ((at = see_also.find("/usr/share/doc/", at)) != std::string::npos) {
      const size_t end = see_also.find_first_of(" \n", at);
      const std::string path = see_also.substr(at, end - at);
      struct stat st;
      EXPECT_EQ(lstat((root + path).c_str(), &st), 0)
          << "SEE ALSO names " << path
          << ", which the package does not install";
      at = end;
    }
  }

  static std::string* out_;
};

std::string* DebianPackageTest::out_ = nullptr;

TEST_F(DebianPackageTest,
       OpsagentPackageInstallsAHardenedServiceNotYetEnabled) {
  EXPECT_EQ(Field("opsagent", "Package"), "opsagent\n");
  EXPECT_EQ(Field("opsagent", "Version"), "0.1.0\n");
  EXPECT_EQ(Field("opsagent", "Maintainer"),
            "opsagent maintainers <opsagent-maintainers@lists.opsagent.dev>\n");
  const std::string depends = Field("opsagent", "Depends");
  EXPECT_THAT(depends, HasSubstr("libsystemd0"));
  EXPECT_THAT(depends, HasSubstr("systemd"));
  // gRPC, Protobuf and Abseil are linked in (see BENCHMARKS.md); OpenSSL,
  // zlib and c-ares are Debian's shared libraries, so that their security
  // updates reach the agent.
  EXPECT_THAT(depends, Not(HasSubstr("libgrpc")));
  EXPECT_THAT(depends, HasSubstr("libssl3"));
  EXPECT_THAT(depends, HasSubstr("zlib1g"));
  EXPECT_THAT(depends, HasSubstr("libc-ares2"));
  EXPECT_EQ(Run({"/usr/bin/dpkg-deb", "-I", Deb("opsagent"), "conffiles"})
                .stdout_text,
            "/etc/opsagent/agent.textproto\n");

  const std::string root = Extract("opsagent");
  EXPECT_EQ(Mode(root + "/usr/sbin/opsagent"), 0755);
  EXPECT_EQ(Mode(root + "/etc/opsagent/agent.textproto"), 0640);
  EXPECT_EQ(Mode(root + "/etc/opsagent/tls"), 0700);
  EXPECT_EQ(ReadFileOrDie(root + "/lib/systemd/system/opsagent.service"),
            ReadFileOrDie("deploy/systemd/opsagent.service"));
  // Nothing enables the agent before certificates are in place; an upgrade
  // restarts it, removal stops it, purge removes its journal
  // (package_lifecycle_test.sh runs them under systemd).
  const std::string postinst = Script("opsagent", "postinst");
  EXPECT_THAT(postinst, Not(HasSubstr("systemctl enable")));
  EXPECT_THAT(postinst, HasSubstr("deb-systemd-helper --quiet was-enabled"));
  EXPECT_THAT(postinst, HasSubstr("_dh_action=restart"));
  EXPECT_THAT(Script("opsagent", "prerm"),
              HasSubstr("deb-systemd-invoke stop 'opsagent.service'"));
  EXPECT_THAT(Script("opsagent", "postrm"),
              HasSubstr("rm -rf /var/lib/opsagent"));

  ExpectManualPage(root, "/usr/share/man/man8/opsagent.8.gz");
  EXPECT_THAT(Manual(root + "/usr/share/man/man8/opsagent.8.gz"),
              HasSubstr("check_config"));
  EXPECT_NE(Mode(root + "/usr/share/doc/opsagent/copyright"), 0u);
  EXPECT_NE(Mode(root + "/usr/share/doc/opsagent/changelog.gz"), 0u);

  // Stripped, its debug information in opsagent-dbgsym.
  EXPECT_THAT(Run({"/usr/bin/file", root + "/usr/sbin/opsagent"}).stdout_text,
              HasSubstr(", stripped"));
  EXPECT_EQ(Field("opsagent-dbgsym", "Package"), "opsagent-dbgsym\n");

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
  ExpectManualPage(root, "/usr/share/man/man1/opsctl.1.gz");
  const std::string manual = Manual(root + "/usr/share/man/man1/opsctl.1.gz");
  for (const char* command : {"mem", "df", "du", "truncate", "restart", "exec",
                              "runbook", "triage", "audit"}) {
    EXPECT_THAT(manual, AnyOf(HasSubstr(absl::StrCat(".BI ", command)),
                              HasSubstr(absl::StrCat(".B ", command)),
                              HasSubstr(absl::StrCat(".BR ", command))))
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
  EXPECT_THAT(depends, HasSubstr("adduser"));  // its system user
  EXPECT_THAT(depends, HasSubstr("libssl3"));
  // The automatic diagnosis runs opsctl's commands inside opsctld, not the
  // opsctl program: operators on the controller's host want it all the same.
  EXPECT_EQ(Field("opsctld", "Recommends"), "opsctl\n");
  EXPECT_THAT(Script("opsctld", "postinst"), HasSubstr("adduser --system"));
  EXPECT_THAT(Script("opsctld", "postrm"),
              HasSubstr("rm -rf /var/lib/opsctld /var/log/opsctld"));
  EXPECT_EQ(
      Run({"/usr/bin/dpkg-deb", "-I", Deb("opsctld"), "conffiles"}).stdout_text,
      "/etc/opsctld/opsctld.textproto\n");
  const std::string root = Extract("opsctld");
  EXPECT_EQ(Mode(root + "/usr/sbin/opsctld"), 0755);
  EXPECT_EQ(Mode(root + "/etc/opsctld/opsctld.textproto"), 0640);
  EXPECT_EQ(Mode(root + "/etc/opsctld/tls"), 0750);  // group opsctld reads
  const std::string unit =
      ReadFileOrDie(root + "/lib/systemd/system/opsctld.service");
  EXPECT_EQ(unit, ReadFileOrDie("deploy/systemd/opsctld.service"));
  EXPECT_THAT(unit, HasSubstr("CapabilityBoundingSet=\n"));
  EXPECT_THAT(unit, HasSubstr("User=opsctld\n"));
  EXPECT_THAT(unit, HasSubstr("StateDirectory=opsctld"));
  ExpectManualPage(root, "/usr/share/man/man8/opsctld.8.gz");
  // The shipped configuration is checked, and names what is missing.
  ProgramResult check =
      Run({root + "/usr/sbin/opsctld", "--config",
           root + "/etc/opsctld/opsctld.textproto", "--check_config"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_THAT(check.stderr_text, HasSubstr("config field tls"));
}

// lintian, as Debian's archive runs it: no error and no warning but those
// the packages override with their reason (debian/*.lintian-overrides). The
// -dbgsym packages are left to build-debs.sh's own lintian run on the
// release build: the binaries under test here are built without -g.
TEST_F(DebianPackageTest, LintianFindsNoErrorAndNoUnexplainedWarning) {
  std::vector<std::string> argv = {"/usr/bin/lintian", "--fail-on",
                                   "error,warning", "--tag-display-limit", "0"};
  for (const char* name : {"opsagent", "opsctl", "opsctld"}) {
    argv.push_back(Deb(name));
  }
  ProgramResult lintian = Run(argv);
  EXPECT_EQ(lintian.exit_code, 0) << lintian.stdout_text << lintian.stderr_text;
  EXPECT_THAT(lintian.stdout_text, Not(HasSubstr("E: ")));
  EXPECT_THAT(lintian.stdout_text, Not(HasSubstr("W: ")));
}

}  // namespace
}  // namespace opsagent
