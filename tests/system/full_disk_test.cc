// A full disk under the audit log: opsctl must refuse to act, say why, and
// send nothing. The filesystem is a small tmpfs mounted in this test's own
// mount namespace (needs root), filled until it is full.

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/append_only_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_agent.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(FullDiskTest, OpsctlRefusesToActUnrecordedWhenTheAuditDiskIsFull) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  ASSERT_EQ(unshare(CLONE_NEWNS), 0);
  ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string small = dir + "/small";
  mkdir(small.c_str(), 0700);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=256k,mode=0700"),
            0);

  auto agent = ::opsagent::testing::TestAgent::Start(dir, "localhost");
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::unique_ptr<::opsagent::testing::OpsctlRunner> runner =
      (*agent)->Oncall("alice", small + "/audit.db");
  const ::opsagent::testing::OpsctlRunner& opsctl = *runner;
  ProgramResult first = opsctl.Run({"mem", "localhost"});
  ASSERT_EQ(first.exit_code, 0)
      << first.stderr_text;  // the database exists and works

  // Fill the filesystem to the last byte.
  int fd = open((small + "/filler").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  const std::string block(4096, 'x');
  while (write(fd, block.data(), block.size()) > 0) {
  }
  while (write(fd, "x", 1) > 0) {
  }
  close(fd);

  const std::string before = (*agent)->process->Log();
  ProgramResult refused = opsctl.Run({"mem", "localhost"});
  EXPECT_EQ(refused.exit_code, 5) << refused.stdout_text << refused.stderr_text;
  EXPECT_THAT(refused.stderr_text, HasSubstr("nothing was sent"));
  EXPECT_THAT(refused.stderr_text, HasSubstr("full"));
  EXPECT_THAT((*agent)->process->Log().substr(before.size()),
              Not(HasSubstr("start memory")));

  // Space again: opsctl works, and the log is whole.
  unlink((small + "/filler").c_str());
  EXPECT_EQ(opsctl.Run({"mem", "localhost"}).exit_code, 0);
  ProgramResult verify = opsctl.Run({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text;
  umount(small.c_str());
}

// The agent's side of the same rule: with its journal's filesystem full, a
// change is refused before it acts and the file it names is untouched.
TEST(FullDiskTest, AgentRefusesAChangeItCannotJournal) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  ASSERT_EQ(unshare(CLONE_NEWNS), 0);
  ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/agent";
  mkdir(dir.c_str(), 0700);
  const std::string small = dir + "/journal";
  mkdir(small.c_str(), 0700);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=64k,mode=0700"), 0);
  const std::string log = dir + "/app.log";
  ::opsagent::testing::WriteFileOrDie(log, std::string(10000, 'x'));
  auto agent = ::opsagent::testing::TestAgent::Start(
      dir, "localhost",
      absl::StrCat("journal_path: \"", small, "/journal.jsonl\"\n",
                   "truncatable_logs: \"", dir, "/*.log\"\n"));
  ASSERT_TRUE(agent.ok()) << agent.status();

  int fd = open((small + "/filler").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  const std::string block(4096, 'x');
  while (write(fd, block.data(), block.size()) > 0) {
  }
  while (write(fd, "x", 1) > 0) {
  }
  close(fd);

  ProgramResult refused =
      (*agent)->Oncall("alice")->Run({"truncate", "localhost", log, "--yes"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.stderr_text, HasSubstr("refusing to act unrecorded"));
  EXPECT_EQ(::opsagent::testing::ReadFileOrDie(log).size(), 10000u);

  unlink((small + "/filler").c_str());
  ProgramResult works =
      (*agent)->Oncall("alice")->Run({"truncate", "localhost", log, "--yes"});
  EXPECT_EQ(works.exit_code, 0) << works.stderr_text;
  EXPECT_EQ(::opsagent::testing::ReadFileOrDie(log), "");
  umount(small.c_str());
}

// Keeping a log's tail on a full disk: the head of a sparse log has no
// blocks to copy the tail into, so copying it there used to fail half-way
// and leave the head half-overwritten. The space is now freed first (or the
// head cut out in place), so the tail is kept whole even with no free byte.
TEST(FullDiskTest, KeepingTheTailOnAFullDiskKeepsItWhole) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  ASSERT_EQ(unshare(CLONE_NEWNS), 0);
  ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/tail";
  mkdir(dir.c_str(), 0700);
  const std::string small = dir + "/logs";
  mkdir(small.c_str(), 0700);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=256k,mode=0700"),
            0);
  // 1 MiB of hole, then 64 KiB of log lines.
  const std::string log = small + "/app.log";
  std::string tail;
  for (int i = 0; tail.size() < (64u << 10); ++i)
    absl::StrAppend(&tail, "line ", i, " of the log\n");
  {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, tail.data(), tail.size(), 1 << 20),
              static_cast<ssize_t>(tail.size()));
    close(fd);
  }
  auto agent = ::opsagent::testing::TestAgent::Start(
      dir, "localhost",
      absl::StrCat("truncatable_logs: \"", small, "/*.log\"\n"));
  ASSERT_TRUE(agent.ok()) << agent.status();
  int fd = open((small + "/filler").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  const std::string block(4096, 'x');
  while (write(fd, block.data(), block.size()) > 0) {
  }
  while (write(fd, "x", 1) > 0) {
  }
  close(fd);

  ProgramResult kept = (*agent)->Oncall("alice")->Run(
      {"truncate", "localhost", log, "--keep-tail", "32K", "--yes"});
  ASSERT_EQ(kept.exit_code, 0) << kept.stdout_text << kept.stderr_text;
  const std::string after = ::opsagent::testing::ReadFileOrDie(log);
  EXPECT_GE(after.size(), 32u << 10);
  EXPECT_EQ(after, tail.substr(tail.size() - after.size()));
  umount(small.c_str());
}

uint64_t AvailableBytes(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// The journal's reserve never takes a filesystem's last free space: asked
// for more than leaves as much free as it takes, it takes nothing (a partial
// fallocate would keep what it got, and every append would ask again,
// pinning the filesystem at 100% and taking back whatever is freed there).
TEST(FullDiskTest, TheReserveNeverTakesTheLastFreeSpace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  ASSERT_EQ(unshare(CLONE_NEWNS), 0);
  ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  const std::string small =
      std::string(std::getenv("TEST_TMPDIR")) + "/reserve";
  mkdir(small.c_str(), 0700);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=4m"), 0);
  const std::string path = small + "/journal.jsonl";
  auto open_file = [&] {
    const int fd = open(path.c_str(), O_RDWR | O_APPEND | O_CREAT, 0600);
    EXPECT_GE(fd, 0);
    return std::make_unique<AppendOnlyFile>(fd, "journal");
  };
  const uint64_t free_before = AvailableBytes(small);
  {
    std::unique_ptr<AppendOnlyFile> file = open_file();
    // 3 of its 4 MiB: it would fit, but leave less free than it takes.
    absl::Status reserved = file->KeepReserve(3 << 20);
    EXPECT_TRUE(absl::IsResourceExhausted(reserved)) << reserved;
    EXPECT_TRUE(
        file->Append("{\"n\":1}", AppendOnlyFile::Durability::kSynced).ok());
    EXPECT_GE(AvailableBytes(small), free_before - (64 << 10));
  }
  // A reserve that fits is taken, and is still counted after a restart.
  {
    std::unique_ptr<AppendOnlyFile> file = open_file();
    EXPECT_TRUE(file->KeepReserve(1 << 20).ok());
    EXPECT_LE(AvailableBytes(small), free_before - (1 << 20));
  }
  const uint64_t with_reserve = AvailableBytes(small);
  {
    std::unique_ptr<AppendOnlyFile> file = open_file();
    EXPECT_TRUE(file->KeepReserve(1 << 20).ok());
    EXPECT_EQ(AvailableBytes(small), with_reserve);
  }
  umount(small.c_str());
}

}  // namespace
}  // namespace opsagent
